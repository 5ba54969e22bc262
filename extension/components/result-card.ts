// <dermlens-card>: the classification result (loading, result or error) as a Lit element, used by the
// popup. The page overlay renders the same template (card-view.ts) without a custom element.
import { css, LitElement } from 'lit';
import type { ClassificationResult } from '../shared/messages.ts';
import { cardStyles, cardTemplate, type CardViewState } from './card-view.ts';

export class DermlensCard extends LitElement {
  static override properties = {
    state: { type: String, reflect: true },
    result: { attribute: false },
    error: { type: String },
    message: { type: String },
    closable: { type: Boolean },
  };

  static override styles = [css`:host { display: block; } :host([hidden]) { display: none; }`, cardStyles];

  state: CardViewState = 'idle';
  result: ClassificationResult | null = null;
  error = '';
  message = '';
  closable = false;

  override render() {
    return cardTemplate({
      state: this.state,
      result: this.result,
      error: this.error,
      message: this.message,
      closable: this.closable,
      onClose: () => this.dispatchEvent(new CustomEvent('dermlens-close', { bubbles: true, composed: true })),
    });
  }

  /** Moves keyboard focus to the card, e.g. when a result arrives. */
  override focus(): void {
    this.renderRoot.querySelector<HTMLElement>('.card')?.focus({ preventScroll: true });
  }
}

if (!customElements.get('dermlens-card')) customElements.define('dermlens-card', DermlensCard);

declare global {
  interface HTMLElementTagNameMap { 'dermlens-card': DermlensCard }
}
