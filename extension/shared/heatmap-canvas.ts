// Paints a result's heatmap (core/heatmap-image.ts colours) onto a canvas, and says where over the
// displayed image that canvas goes: the map covers the preprocessing crop, not always the whole image.
import { heatmapRgba } from '../../core/heatmap-image.ts';
import type { Heatmap } from './messages.ts';

/** The canvas resolution: the map has a few cells, so more pixels would only cost time. */
const MAX_SIDE = 192;

export function paintHeatmap(canvas: HTMLCanvasElement, { map, crop }: Heatmap): void {
  const scale = Math.min(1, MAX_SIDE / Math.max(crop.width, crop.height));
  const width = Math.max(1, Math.round(crop.width * scale));
  const height = Math.max(1, Math.round(crop.height * scale));
  canvas.width = width;
  canvas.height = height;
  const pixels = heatmapRgba(map, width, height);
  canvas.getContext('2d')!.putImageData(new ImageData(pixels as Uint8ClampedArray<ArrayBuffer>, width, height), 0, 0);
}

/** Where the crop lies in the image, as fractions of its width and height (for CSS percentages). */
export function cropFractions({ crop }: Heatmap, imageWidth: number, imageHeight: number) {
  return { left: crop.x / imageWidth, top: crop.y / imageHeight, width: crop.width / imageWidth, height: crop.height / imageHeight };
}
