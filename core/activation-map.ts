// "Where it looked" as plain numbers: one class's activation map and its display scaling. Free of
// TensorFlow.js (core/class-activation-map.ts computes the maps), so the card's bundles can draw it.
import { CLASS_CODES, type ClassCode } from './labels.ts';

/** One class's map as plain numbers: what the CLI writes and what the extension sends to the card. */
export interface ActivationMap {
  /** The class it explains (the top class of the result). */
  code: ClassCode;
  /** The feature grid: the map is `height` rows of `width` cells over the model input (the crop). */
  width: number;
  height: number;
  /** Row-major, height * width: each cell's contribution to the class logit (their mean is the logit). */
  values: number[];
}

/** Picks class `code`'s map out of the [h, w, classes] tensor's values. */
export function mapOfClass(maps: Float32Array | number[], shape: readonly number[], code: ClassCode): ActivationMap {
  const [height, width, classes] = shape;
  const k = CLASS_CODES.indexOf(code);
  const values = Array.from({ length: height * width }, (_, i) => maps[i * classes + k]);
  return { code, width, height, values };
}

/**
 * The map scaled to [0, 1] for display: (v - min) / (max - min), CAM's usual normalisation, so 1 is the
 * region that counted most for the class and 0 the one that counted least. A flat map is all zeros.
 */
export function normalizedMap(map: ActivationMap): number[] {
  let min = Infinity;
  let max = -Infinity;
  for (const v of map.values) {
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  const range = max - min;
  return map.values.map((v) => (range > 1e-12 ? (v - min) / range : 0));
}
