// Generated negatives for the out-of-distribution set: gradients, noise, solid colours, geometric
// shapes, and skin-like pictures that are not dermoscopy (plain skin tones, skin with texture or hair,
// without a lesion). Each is drawn from its own seed, so a rebuild gives the same pixels.
import sharp from 'sharp';
import { makeRng, uniform } from '../../trainer/data/rng.ts';

export interface SyntheticImage {
  /** File name stem, e.g. 'gradient-012'. */
  name: string;
  kind: string;
  render: () => Promise<Buffer>; // PNG bytes
}

type Rgb = [number, number, number];
const randomColour = (rng: () => number): Rgb => [0, 0, 0].map(() => Math.floor(rng() * 256)) as Rgb;
const css = ([r, g, b]: Rgb) => `rgb(${r},${g},${b})`;

/** Skin tones from very light to very dark (Fitzpatrick I-VI, roughly), jittered per image. */
const SKIN: Rgb[] = [
  [255, 224, 196],
  [241, 194, 167],
  [224, 172, 138],
  [198, 134, 98],
  [161, 102, 69],
  [110, 68, 45],
  [74, 45, 30],
];
const skinTone = (rng: () => number): Rgb => {
  const base = SKIN[Math.floor(rng() * SKIN.length)];
  return base.map((c) => Math.max(0, Math.min(255, Math.round(c + uniform(rng, -12, 12))))) as Rgb;
};

const png = (svg: string) => sharp(Buffer.from(svg)).png().toBuffer();

function rawPng(width: number, height: number, pixel: (x: number, y: number) => Rgb, blur = 0): Promise<Buffer> {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set(pixel(x, y), (y * width + x) * 3);
  const image = sharp(data, { raw: { width, height, channels: 3 } });
  return (blur > 0 ? image.blur(blur) : image).png().toBuffer();
}

const size = (rng: () => number) => ({ width: 256 + Math.floor(rng() * 5) * 64, height: 256 + Math.floor(rng() * 5) * 64 });

function gradient(seed: number): Promise<Buffer> {
  const rng = makeRng(seed);
  const { width, height } = size(rng);
  const count = 2 + Math.floor(rng() * 3);
  const stops = Array.from({ length: count }, (_, i) => `<stop offset="${i / (count - 1)}" stop-color="${css(randomColour(rng))}"/>`).join(
    '',
  );
  const radial = rng() < 0.4;
  const angle = rng() * 360;
  const def = radial
    ? `<radialGradient id="g" cx="${rng()}" cy="${rng()}" r="${uniform(rng, 0.4, 1)}">${stops}</radialGradient>`
    : `<linearGradient id="g" gradientTransform="rotate(${angle} 0.5 0.5)">${stops}</linearGradient>`;
  return png(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><defs>${def}</defs><rect width="100%" height="100%" fill="url(#g)"/></svg>`,
  );
}

function noise(seed: number): Promise<Buffer> {
  const rng = makeRng(seed);
  const { width, height } = size(rng);
  const colour = rng() < 0.5;
  const [base, spread] = [randomColour(rng), uniform(rng, 20, 128)];
  const blur = rng() < 0.5 ? 0 : uniform(rng, 0.5, 6);
  return rawPng(
    width,
    height,
    () => {
      const grey = uniform(rng, -spread, spread);
      return base.map((c) => Math.max(0, Math.min(255, Math.round(c + (colour ? uniform(rng, -spread, spread) : grey))))) as Rgb;
    },
    blur,
  );
}

function solid(seed: number): Promise<Buffer> {
  const rng = makeRng(seed);
  const { width, height } = size(rng);
  const [r, g, b] = randomColour(rng);
  return sharp({ create: { width, height, channels: 3, background: { r, g, b } } })
    .png()
    .toBuffer();
}

function shapes(seed: number): Promise<Buffer> {
  const rng = makeRng(seed);
  const { width, height } = size(rng);
  const items: string[] = [];
  for (let i = 0, n = 1 + Math.floor(rng() * 12); i < n; i++) {
    const fill = css(randomColour(rng));
    const [x, y, s] = [rng() * width, rng() * height, uniform(rng, 0.05, 0.4) * Math.min(width, height)];
    const stroke = rng() < 0.3 ? ` stroke="${css(randomColour(rng))}" stroke-width="${uniform(rng, 1, 8)}"` : '';
    const shape = Math.floor(rng() * 4);
    if (shape === 0) items.push(`<circle cx="${x}" cy="${y}" r="${s}" fill="${fill}"${stroke}/>`);
    else if (shape === 1)
      items.push(
        `<rect x="${x - s}" y="${y - s / 2}" width="${2 * s}" height="${s}" transform="rotate(${rng() * 90} ${x} ${y})" fill="${fill}"${stroke}/>`,
      );
    else if (shape === 2) items.push(`<polygon points="${x},${y - s} ${x + s},${y + s} ${x - s},${y + s}" fill="${fill}"${stroke}/>`);
    else
      items.push(
        `<line x1="${x}" y1="${y}" x2="${rng() * width}" y2="${rng() * height}" stroke="${fill}" stroke-width="${uniform(rng, 2, 20)}"/>`,
      );
  }
  return png(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="${css(randomColour(rng))}"/>${items.join('')}</svg>`,
  );
}

/** Plain skin: one tone, optionally with a soft light gradient, fine pore noise and hair strokes; never a lesion. */
function skin(seed: number, detail: 'plain' | 'textured' | 'hair'): Promise<Buffer> {
  const rng = makeRng(seed);
  const { width, height } = size(rng);
  const tone = skinTone(rng);
  if (detail === 'plain')
    return sharp({ create: { width, height, channels: 3, background: { r: tone[0], g: tone[1], b: tone[2] } } })
      .png()
      .toBuffer();
  const [gx, gy, light] = [uniform(rng, -1, 1), uniform(rng, -1, 1), uniform(rng, 0, 30)];
  const grain = uniform(rng, 3, 10);
  const base = rawPng(
    width,
    height,
    (x, y) => {
      const shade = light * ((gx * x) / width + (gy * y) / height) + uniform(rng, -grain, grain);
      return tone.map((c) => Math.max(0, Math.min(255, Math.round(c + shade)))) as Rgb;
    },
    uniform(rng, 0.3, 1.2),
  );
  if (detail === 'textured') return base;
  const hair = css(tone.map((c) => Math.round(c * uniform(rng, 0.15, 0.45))) as Rgb);
  const strokes = Array.from({ length: 10 + Math.floor(rng() * 60) }, () => {
    const [x, y, length, angle] = [rng() * width, rng() * height, uniform(rng, 15, 80), uniform(rng, -0.6, 0.6) + Math.PI / 4];
    const [dx, dy] = [Math.cos(angle) * length, Math.sin(angle) * length];
    return `<path d="M${x},${y} q${dx / 2 + uniform(rng, -8, 8)},${dy / 2 + uniform(rng, -8, 8)} ${dx},${dy}" stroke="${hair}" stroke-width="${uniform(rng, 0.6, 2)}" fill="none" opacity="${uniform(rng, 0.5, 0.95)}"/>`;
  }).join('');
  return base.then((bytes) =>
    sharp(bytes)
      .composite([{ input: Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${strokes}</svg>`) }])
      .png()
      .toBuffer(),
  );
}

/** The synthetic part of the set: `count` images of each kind. */
export function syntheticImages(): SyntheticImage[] {
  const kinds: [string, number, (seed: number) => Promise<Buffer>][] = [
    ['gradient', 60, gradient],
    ['noise', 60, noise],
    ['solid', 40, solid],
    ['shapes', 100, shapes],
    ['skin-plain', 40, (seed) => skin(seed, 'plain')],
    ['skin-textured', 60, (seed) => skin(seed, 'textured')],
    ['skin-hair', 40, (seed) => skin(seed, 'hair')],
  ];
  return kinds.flatMap(([kind, count, draw], k) =>
    Array.from({ length: count }, (_, i) => ({
      name: `${kind}-${String(i).padStart(3, '0')}`,
      kind,
      render: () => draw(1000 * (k + 1) + i),
    })),
  );
}
