// <dermlens-heatmap-preview>: the popup's photo, with the result's "where it looked" heatmap laid over
// the part of it the model saw (the preprocessing crop) when `shown`.
import { css, html, LitElement, nothing, type PropertyValues } from 'lit';
import { customElement, property, query } from 'lit/decorators.js';
import { cropFractions, paintHeatmap } from '../shared/heatmap-canvas.ts';
import type { Heatmap } from '../shared/messages.ts';

/**
 * The photo, with the heatmap over the model's crop when `shown`.
 *
 * @cssprop --preview-max-height - the photo's maximum height (default 120px).
 */
@customElement('dermlens-heatmap-preview')
export class DermlensHeatmapPreview extends LitElement {
  static override styles = css`
    :host { display: inline-block; }
    .frame { position: relative; display: inline-block; line-height: 0; }
    img { display: block; max-width: 100%; max-height: var(--preview-max-height, 120px); border-radius: 6px; }
    canvas { position: absolute; pointer-events: none; border-radius: 4px; }
    canvas[hidden] { display: none; }
  `;

  @property({ type: String }) src = '';
  @property({ type: String }) alt = '';
  @property({ attribute: false }) heatmap: Heatmap | null = null;
  /** The decoded image's pixel size (the result's width and height), to place the crop. */
  @property({ type: Number, attribute: 'image-width' }) imageWidth = 0;
  @property({ type: Number, attribute: 'image-height' }) imageHeight = 0;
  @property({ type: Boolean }) shown = false;

  @query('canvas') private canvas?: HTMLCanvasElement;

  override render() {
    const place =
      this.heatmap && this.imageWidth && this.imageHeight ? cropFractions(this.heatmap, this.imageWidth, this.imageHeight) : null;
    const pct = (v: number) => `${(v * 100).toFixed(3)}%`;
    return html`<div class="frame">
      <img src=${this.src} alt=${this.alt}>
      ${
        place
          ? html`<canvas data-part="heatmap" aria-hidden="true" ?hidden=${!this.shown}
        style="left: ${pct(place.left)}; top: ${pct(place.top)}; width: ${pct(place.width)}; height: ${pct(place.height)}"></canvas>`
          : nothing
      }
    </div>`;
  }

  protected override updated(changed: PropertyValues<this>): void {
    if ((changed.has('heatmap') || changed.has('imageWidth')) && this.heatmap && this.canvas) paintHeatmap(this.canvas, this.heatmap);
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'dermlens-heatmap-preview': DermlensHeatmapPreview;
  }
}
