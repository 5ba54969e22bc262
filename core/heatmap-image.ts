// Turns a class activation map (a few cells, e.g. 3x3) into an RGBA overlay of any size, for the CLI's
// heat.png (composited by sharp) and the extension's canvas (putImageData): one colour scale everywhere.
import { normalizedMap, type ActivationMap } from './activation-map.ts';

/**
 * Colour stops over the normalised map: transparent where the map is low, so the skin stays visible,
 * through amber to red where the top class drew most of its evidence. [value, r, g, b, alpha 0-1].
 */
const STOPS: ReadonlyArray<readonly [number, number, number, number, number]> = [
  [0, 255, 214, 0, 0],
  [0.35, 255, 214, 0, 0],
  [0.65, 255, 140, 0, 0.42],
  [1, 214, 0, 28, 0.68],
];

/** The overlay colour of a normalised value in [0, 1], as [r, g, b, a] bytes. */
export function heatColour(value: number): [number, number, number, number] {
  const v = Math.min(1, Math.max(0, value));
  let i = 1;
  while (i < STOPS.length - 1 && v > STOPS[i][0]) i++;
  const [v0, r0, g0, b0, a0] = STOPS[i - 1];
  const [v1, r1, g1, b1, a1] = STOPS[i];
  const t = v1 > v0 ? (v - v0) / (v1 - v0) : 0;
  const mix = (a: number, b: number) => a + (b - a) * t;
  return [Math.round(mix(r0, r1)), Math.round(mix(g0, g1)), Math.round(mix(b0, b1)), Math.round(mix(a0, a1) * 255)];
}

/**
 * The map as a width x height RGBA overlay (row-major, 4 bytes a pixel), smoothly interpolated between
 * cell centres (bilinear, clamped at the edges). The overlay covers the map's whole input box: in image
 * terms the preprocessing crop (Explanation.crop), stretched to it as the model saw it.
 */
export function heatmapRgba(map: ActivationMap, width: number, height: number): Uint8ClampedArray {
  const values = normalizedMap(map);
  const out = new Uint8ClampedArray(width * height * 4);
  const sample = (gx: number, gy: number) => values[gy * map.width + gx];
  for (let y = 0; y < height; y++) {
    const fy = Math.min(Math.max(((y + 0.5) / height) * map.height - 0.5, 0), map.height - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, map.height - 1);
    const ty = fy - y0;
    for (let x = 0; x < width; x++) {
      const fx = Math.min(Math.max(((x + 0.5) / width) * map.width - 0.5, 0), map.width - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, map.width - 1);
      const tx = fx - x0;
      const top = sample(x0, y0) * (1 - tx) + sample(x1, y0) * tx;
      const bottom = sample(x0, y1) * (1 - tx) + sample(x1, y1) * tx;
      out.set(heatColour(top * (1 - ty) + bottom * ty), (y * width + x) * 4);
    }
  }
  return out;
}
