// Rebuilds the out-of-distribution (not dermoscopy) image set for the input gate, outside the repository:
//
//   npx tsx scripts/build-ood-set.ts [--out /work/ood-data] [--screenshots-per-template 36]
//
// Real images come from Debian packages (apt-get download + dpkg -x: wallpapers, Tux Paint stamps, GIMP
// patterns), Python wheels from the local index (scikit-image, scikit-learn sample images) and the shared
// pretrained model's check photos; web-like screenshots are rendered by Chromium; synthetic images are
// drawn. Every image is normalised to at most 600 px on its long side (JPEG for photos, PNG for
// screenshots and drawings), listed in manifest.csv (file, source, package, licence, split, kind,
// origin, group) with a train/val/heldout split (60/20/20) drawn per source from a hash of the file's
// group, so a wallpaper's variants and crops stay on one side and every source has a held-out part.
// README.md in the output folder has each source's licence note and the counts. Idempotent: the
// downloads are cached in <out>/.cache, existing images are kept, and files no longer produced are
// removed. Never commit the output.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { makeRng, uniform } from '../trainer/data/rng.ts';
import { decodeImage } from '../trainer/data/images.ts';
import { decodeGimpPattern, realSources, type RealSource, type SourceFile } from './ood/sources.ts';
import { renderScreenshots, screenshotPages } from './ood/screenshots.ts';
import { syntheticImages } from './ood/synthetic.ts';

const LONG_SIDE = 600;
const SPLITS = ['train', 'val', 'heldout'] as const;
type Split = (typeof SPLITS)[number];

interface Row {
  file: string;
  source: string;
  package: string;
  licence: string;
  split: Split;
  kind: string;
  origin: string;
  group: string;
}

const { values } = parseArgs({
  options: {
    out: { type: 'string', default: '/work/ood-data' },
    'screenshots-per-template': { type: 'string', default: '36' },
    help: { type: 'boolean' },
  },
});
if (values.help) {
  console.log('Usage: npx tsx scripts/build-ood-set.ts [--out <dir>] [--screenshots-per-template <n>]');
  process.exit(0);
}
const out = resolve(values.out!);
const repo = resolve(dirname(new URL(import.meta.url).pathname), '..');
if (!relative(repo, out).startsWith('..'))
  throw new Error(`--out ${out} is inside the repository; the set must never be committed: choose a folder outside ${repo}`);
const cache = join(out, '.cache');
const imagesDir = join(out, 'images');
mkdirSync(imagesDir, { recursive: true });

/** A number in [0, 1) from a string, the same on every machine and run. */
const unit = (text: string) => createHash('sha256').update(text).digest().readUInt32BE(0) / 2 ** 32;
const splitOf = (source: string, group: string): Split => {
  const u = unit(`${source}:${group}`);
  return u < 0.6 ? 'train' : u < 0.8 ? 'val' : 'heldout';
};

const rows: Row[] = [];
const written = new Set<string>();
const slug = (text: string) =>
  text
    .replace(/\.[a-z0-9]+$/i, '')
    .replace(/[^A-Za-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(-80);

/** Writes (unless it exists) one normalised image and records its row. */
async function emit(
  row: Omit<Row, 'file' | 'split'>,
  name: string,
  format: 'jpg' | 'png',
  render: () => Promise<sharp.Sharp>,
): Promise<void> {
  const file = `images/${row.source}/${name}.${format}`;
  const path = join(out, file);
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true });
    const image = (await render()).resize(LONG_SIDE, LONG_SIDE, { fit: 'inside', withoutEnlargement: true });
    await (format === 'jpg' ? image.jpeg({ quality: 90, mozjpeg: true }) : image.png({ compressionLevel: 9 })).toFile(path);
  }
  written.add(file);
  rows.push({ ...row, file, split: splitOf(row.source, row.group) });
}

/** The original file as an upright sRGB image (BMP and WebP included), or a GIMP pattern tiled to 384 px. */
async function load(source: RealSource, file: SourceFile): Promise<sharp.Sharp> {
  if (source.gimpPatterns) {
    const { data, width, height, channels } = decodeGimpPattern(readFileSync(file.path));
    const tile = await sharp(data, { raw: { width, height, channels } }).toColourspace('srgb').png().toBuffer();
    const [w, h] = [Math.max(width, 384), Math.max(height, 384)];
    return sharp(
      await sharp({ create: { width: w, height: h, channels: 3, background: '#fff' } })
        .composite([{ input: tile, tile: true, gravity: 'northwest' }])
        .png()
        .toBuffer(),
    );
  }
  const { data, width, height } = await decodeImage(file.path);
  let image = sharp(Buffer.from(data.buffer, data.byteOffset, data.byteLength), { raw: { width, height, channels: 4 } });
  if (source.flatten) {
    // Stamps are cut out: put them on a plain background chosen from the file name (white, grey, pastel or dark).
    const rng = makeRng(Math.floor(unit(file.path) * 2 ** 31));
    const choice = rng();
    const background =
      choice < 0.4 ? '#ffffff' : choice < 0.6 ? '#d9d9d9' : choice < 0.85 ? `hsl(${Math.floor(rng() * 360)}, 60%, 88%)` : '#202428';
    image = image.flatten({ background });
  } else {
    image = image.flatten({ background: '#ffffff' });
  }
  // Big wallpapers are brought down to 2400 px once, kept raw: every crop is cut from this copy.
  const { data: pixels, info } = await image
    .resize(2400, 2400, { fit: 'inside', withoutEnlargement: true })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return sharp(pixels, { raw: { width: info.width, height: info.height, channels: info.channels } });
}

/** Random crops (close-ups) of a large photo, the same on every run: the rectangles from a seed of the file's origin. */
function cropBoxes(origin: string, count: number, width: number, height: number): sharp.Region[] {
  if (Math.min(width, height) < 400) return [];
  const rng = makeRng(Math.floor(unit(`crop:${origin}`) * 2 ** 31));
  return Array.from({ length: count }, () => {
    const side = Math.floor(uniform(rng, 0.2, 0.6) * Math.min(width, height));
    const [w, h] = [Math.min(width, Math.floor(side * uniform(rng, 0.75, 1.33))), side];
    return { left: Math.floor(rng() * (width - w + 1)), top: Math.floor(rng() * (height - h + 1)), width: w, height: h };
  });
}

async function buildReal(sources: RealSource[]): Promise<void> {
  for (const source of sources) {
    let count = 0;
    for (const file of source.files) {
      const { origin } = file;
      const row = { source: source.name, package: source.package, licence: source.licence, kind: 'photo', origin, group: file.group };
      const stem = slug(origin);
      const cropName = (c: number) => `${stem}-crop${c}`;
      // The whole image is written last, so its presence means this file is done: a rerun decodes nothing.
      if (existsSync(join(imagesDir, source.name, `${stem}.jpg`))) {
        const done = Array.from({ length: source.crops }, (_, c) => c).filter((c) =>
          existsSync(join(imagesDir, source.name, `${cropName(c)}.jpg`)),
        );
        for (const c of done)
          await emit({ ...row, kind: 'crop' }, cropName(c), 'jpg', () => {
            throw new Error('unreachable: the crop exists');
          });
        await emit(row, stem, 'jpg', () => {
          throw new Error('unreachable: the image exists');
        });
        count += done.length + 1;
        continue;
      }
      let original: sharp.Sharp;
      try {
        original = await load(source, file);
      } catch (err) {
        console.warn(`skipped ${file.path}: ${(err as Error).message}`);
        continue;
      }
      const { width = 0, height = 0 } = await original.metadata();
      for (const [c, box] of cropBoxes(origin, source.crops, width, height).entries()) {
        await emit({ ...row, kind: 'crop' }, cropName(c), 'jpg', async () => original.clone().extract(box));
      }
      await emit(row, stem, 'jpg', async () => original.clone());
      count += 1 + cropBoxes(origin, source.crops, width, height).length;
    }
    console.log(`${source.name}: ${count} images from ${source.files.length} files`);
  }
}

/** Thumbnails of training-split photos, as data: URLs for the shop and article pages. */
async function thumbnails(): Promise<string[]> {
  const photos = rows.filter((r) => r.split === 'train' && (r.source === 'tuxpaint-stamps-default' || r.kind === 'crop'));
  const picked = photos.filter((_, i) => i % Math.max(1, Math.floor(photos.length / 60)) === 0).slice(0, 60);
  return Promise.all(
    picked.map(
      async (r) =>
        `data:image/jpeg;base64,${(await sharp(join(out, r.file)).resize(240, 240, { fit: 'inside' }).jpeg({ quality: 80 }).toBuffer()).toString('base64')}`,
    ),
  );
}

async function buildScreenshots(perTemplate: number): Promise<void> {
  const source = 'chromium-screenshots';
  const base = {
    source,
    package: 'chromium (Debian), pages generated by scripts/ood/screenshots.ts',
    licence: 'generated (no third-party content beyond the listed photo sources)',
  };
  const pages = screenshotPages(perTemplate);
  const missing = pages.filter(({ name }) => !existsSync(join(imagesDir, source, `${name}.png`)));
  const shots = new Map<string, Buffer>();
  if (missing.length)
    await renderScreenshots(missing, await thumbnails(), async ({ name, png }) => {
      shots.set(name, png);
    });
  for (const { kind, name } of pages) {
    await emit({ ...base, kind, origin: `${name}.html`, group: name }, name, 'png', async () => sharp(shots.get(name)!));
  }
  console.log(`${source}: ${missing.length} rendered, ${pages.length} in all`);
}

async function buildSynthetic(): Promise<void> {
  const base = { source: 'synthetic', package: 'scripts/ood/synthetic.ts', licence: 'generated' };
  for (const image of syntheticImages()) {
    await emit({ ...base, kind: image.kind, origin: image.name, group: image.name }, image.name, 'png', async () =>
      sharp(await image.render()),
    );
  }
  console.log(`synthetic: ${rows.filter((r) => r.source === 'synthetic').length} images`);
}

/**
 * Gives every source a held-out part (and a validation part from 3 groups on) where the hash left one
 * empty, by moving whole training groups, deterministically. A source of a single group (one picture
 * in several layouts) is split by file instead.
 */
function ensureEverySplit(): void {
  for (const source of new Set(rows.map((r) => r.source))) {
    const mine = rows.filter((r) => r.source === source);
    if (new Set(mine.map((r) => r.group)).size < 2)
      for (const r of mine) {
        r.group = r.origin;
        r.split = splitOf(source, r.group);
      }
    const groups = [...new Set(mine.map((r) => r.group))].sort((a, b) => unit(`${source}:${b}`) - unit(`${source}:${a}`));
    for (const [split, least] of [
      ['heldout', 2],
      ['val', 3],
    ] as const) {
      if (groups.length < least || mine.some((r) => r.split === split)) continue;
      const group = groups.find((g) => mine.filter((r) => r.group === g).every((r) => r.split === 'train'));
      if (group) for (const r of mine) if (r.group === group) r.split = split;
    }
  }
}

const csv = (value: string) => (/[",\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value);

function writeManifest(sources: RealSource[]): void {
  rows.sort((a, b) => (a.file < b.file ? -1 : 1));
  const columns: (keyof Row)[] = ['file', 'source', 'package', 'licence', 'split', 'kind', 'origin', 'group'];
  writeFileSync(
    join(out, 'manifest.csv'),
    `${columns.join(',')}\n${rows.map((r) => columns.map((c) => csv(r[c])).join(',')).join('\n')}\n`,
  );
  const table = [...new Set(rows.map((r) => r.source))].map((source) => {
    const mine = rows.filter((r) => r.source === source);
    const n = (split: Split) => mine.filter((r) => r.split === split).length;
    return `| ${source} | ${mine.length} | ${n('train')} | ${n('val')} | ${n('heldout')} | ${new Set(mine.map((r) => r.group)).size} |`;
  });
  const notes = [
    ...sources.map((s) => `**${s.name}** (${s.package}; ${s.licence}). ${s.note}`),
    "**chromium-screenshots** (rendered with Debian's Chromium). Web-like pages generated from templates in scripts/ood/screenshots.ts (articles, forms, tables, charts, logos, dashboards, code, shop grids, chats, error and search pages); their text is generated, their thumbnails are training-split photos of the sources above, under those sources' licences.",
    '**synthetic** (scripts/ood/synthetic.ts). Gradients, noise, solid colours, geometric shapes and skin-like images (plain skin tones, skin with texture or hair, no lesion), drawn from fixed seeds; no licence restrictions.',
  ];
  writeFileSync(
    join(out, 'README.md'),
    `# DermLens out-of-distribution set (not dermoscopy)

Rebuilt by \`npx tsx scripts/build-ood-set.ts --out ${out}\` in the DermLens repository. Never commit these images.
Every image is at most ${LONG_SIDE} px on its long side. \`manifest.csv\` lists each file's source, package, licence, split, kind
(photo, crop, screenshot template or synthetic kind), origin (path inside the package) and group (what shares a split).
The split is drawn per source from a hash of the group (60/20/20), so crops and variants of one picture stay together and
every source keeps a held-out part: keep \`heldout\` for the final measurement only.

| source | images | train | val | heldout | groups |
|---|---|---|---|---|---|
${table.join('\n')}
| **all** | ${rows.length} | ${rows.filter((r) => r.split === 'train').length} | ${rows.filter((r) => r.split === 'val').length} | ${rows.filter((r) => r.split === 'heldout').length} | |

## Licences, per source

${notes.join('\n\n')}
`,
  );
  console.log(table.join('\n'));
}

/** Removes images a previous run wrote that this one no longer produces (a rebuild, not an accumulation). */
function removeStale(): void {
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? walk(join(dir, f)) : [join(dir, f)]));
  for (const path of walk(imagesDir)) if (!written.has(relative(out, path))) rmSync(path);
}

const sources = realSources(cache, resolve(repo, '../shared/pretrained/mobilenet_v2_imagenet/check'));
await buildReal(sources);
ensureEverySplit(); // before the thumbnails pick training photos
await buildScreenshots(Number(values['screenshots-per-template']));
await buildSynthetic();
ensureEverySplit();
removeStale();
writeManifest(sources);
console.log(`wrote ${rows.length} images and manifest.csv to ${out}`);
