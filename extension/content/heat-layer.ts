// The "where it looked" heatmap laid over the right-clicked image in the page: a canvas in a closed
// shadow root on its own <dermlens-heatmap> host, positioned over the image's content box (where the
// pixels are drawn), letting clicks through. Placed by the overlay with the card (see content/overlay.ts).
import { cropFractions, paintHeatmap } from '../shared/heatmap-canvas.ts';
import type { Heatmap } from '../shared/messages.ts';

export interface HeatLayer {
  host: HTMLElement;
  /** Covers `box` (viewport pixels: the image's content box) with the map over its crop. */
  place(box: { left: number; top: number; width: number; height: number }): void;
  remove(): void;
}

export function createHeatLayer(
  heatmap: Heatmap,
  imageWidth: number,
  imageHeight: number,
  position: (host: HTMLElement, box: { left: number; top: number; width: number; height: number }) => void,
): HeatLayer {
  const host = document.createElement('dermlens-heatmap');
  const root = host.attachShadow({ mode: 'closed' });
  const canvas = document.createElement('canvas');
  canvas.setAttribute('aria-hidden', 'true');
  canvas.style.cssText = 'display: block; width: 100%; height: 100%;';
  paintHeatmap(canvas, heatmap);
  root.append(canvas);
  document.documentElement.append(host);
  const crop = cropFractions(heatmap, imageWidth, imageHeight);
  return {
    host,
    place(box) {
      position(host, {
        left: box.left + crop.left * box.width,
        top: box.top + crop.top * box.height,
        width: crop.width * box.width,
        height: crop.height * box.height,
      });
    },
    remove: () => host.remove(),
  };
}
