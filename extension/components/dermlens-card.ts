// <dermlens-card>: the classification result (loading, result or error) as a Lit element, used by the
// popup. The page overlay renders the same template (card-view.ts) without a custom element.
import { css, LitElement } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import type { ClassificationResult } from '../shared/messages.ts';
import { cardStyles, cardTemplate, type CardViewState } from './card-view.ts';

/**
 * The result card (loading, result or error), with the not-a-diagnosis disclaimer.
 *
 * @fires dermlens-close - the close button was clicked.
 * @fires dermlens-heatmap - the "Where it looked" toggle was clicked; detail: boolean, whether to show the heatmap now.
 * @cssprop --dermlens-max-height - limits the card's height (it scrolls inside); none by default.
 */
@customElement('dermlens-card')
export class DermlensCard extends LitElement {
  static override styles = [
    cardStyles,
    css`
    :host { display: block; } :host([hidden]) { display: none; }
    /* In the popup the card is the page's content: no frame of its own, every pixel for the result. */
    :host([flat]) .card { border: none; box-shadow: none; border-radius: 0; padding: 0; max-width: none; }
  `,
  ];

  @property({ type: String, reflect: true }) state: CardViewState = 'idle';
  @property({ attribute: false }) result: ClassificationResult | null = null;
  @property({ type: String }) error = '';
  @property({ type: String }) message = '';
  @property({ type: Boolean }) closable = false;
  /** Whether the heatmap is shown (the popup owns the preview it is drawn on). */
  @property({ type: Boolean, attribute: 'heatmap-shown' }) heatmapShown = false;

  override render() {
    return cardTemplate({
      state: this.state,
      result: this.result,
      error: this.error,
      message: this.message,
      closable: this.closable,
      onClose: () => this.dispatchEvent(new CustomEvent('dermlens-close', { bubbles: true, composed: true })),
      heatmapShown: this.heatmapShown,
      onToggleHeatmap: (shown) => this.dispatchEvent(new CustomEvent('dermlens-heatmap', { detail: shown, bubbles: true, composed: true })),
    });
  }

  /** Moves keyboard focus to the card's title, e.g. when a result arrives (no focus ring: see card-view.ts). */
  override focus(): void {
    this.renderRoot.querySelector<HTMLElement>('h2')?.focus({ preventScroll: true });
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'dermlens-card': DermlensCard;
  }
}
