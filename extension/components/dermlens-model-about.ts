// <dermlens-model-about>: "About the model", from model-card.json, for a curious patient first: what
// the model is, what it learned from, how often it is right, what it cannot do; the trainer's own
// description and the architecture one click away under "Technical details".
import { css, html, LitElement, nothing } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import { CLASSES } from '../../core/labels.ts';
import { cardInputLabel, type ModelCard } from '../../core/model-card.ts';
import { formatPercent } from '../shared/result.ts';

/** "12 out of 100": what a recall of 0.12 means to someone who is not a statistician. */
const outOf100 = (fraction: number) => `${Math.round(fraction * 100)} out of 100`;

/** The split's description without the image count it may end with (the count is shown beside it). */
const splitName = (split: string) => split.replace(/,\s*[\d,]+\s+images?\s*$/i, '');

/** "About the model", rendered from the packaged model-card.json (`card`), or the error reading it. */
@customElement('dermlens-model-about')
export class DermlensModelAbout extends LitElement {
  static override styles = css`
    :host { display: block; font: 13px/1.4 system-ui, sans-serif; color: #1b1f24; }
    h2 { font-size: 14px; margin: 0 0 4px; }
    h3 { font-size: 13px; margin: 10px 0 2px; }
    p { margin: 4px 0; }
    dl { display: grid; grid-template-columns: auto 1fr; gap: 2px 10px; margin: 6px 0; }
    dt { color: #57606a; }
    dd { margin: 0; overflow-wrap: anywhere; }
    table { border-collapse: collapse; width: 100%; margin: 6px 0; }
    caption { text-align: left; font-weight: 600; margin-bottom: 4px; }
    th, td { text-align: left; padding: 3px 6px; border-bottom: 1px solid #eef1f4; font-weight: normal; }
    thead th { font-size: 11px; color: #57606a; }
    td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
    ul { margin: 4px 0; padding-left: 18px; }
    details { margin: 8px 0 0; color: #3d444d; }
    summary { cursor: pointer; color: #0b5cad; }
    summary:focus-visible { outline: 2px solid #0b5cad; outline-offset: 1px; }
    .warning { background: #fff8c5; border: 1px solid #d4a72c; border-radius: 6px; padding: 4px 6px; color: #4d2d00; }
    .error { color: #82071e; }
    .muted { color: #57606a; }
  `;

  @property({ attribute: false }) card: ModelCard | null = null;
  @property({ type: String }) error = '';

  override render() {
    if (this.error) return html`<p class="error" role="alert">Could not read the model card: ${this.error}</p>`;
    const card = this.card;
    if (!card) return html`<p class="muted" role="status">Loading the model card…</p>`;
    const evaluation = card.evaluation;
    return html`
      <h2>${card.name}</h2>
      ${card.untrained ? html`<p class="warning" role="note">This is the untrained development model: its predictions are random.</p>` : nothing}
      <p>A small computer model that learned from thousands of close-up skin photos (dermoscopy images from the
        HAM10000 collection), each labelled by skin experts with one of seven types of skin spot. It runs on this
        device: your photos never leave your computer.</p>
      ${
        evaluation
          ? html`
        <h3>How often is it right?</h3>
        <p>Tested on ${evaluation.n.toLocaleString('en-US')} photos it had never seen, it named the right type
          for ${outOf100(evaluation.accuracy)} of them. Most of those photos are moles; counting every type
          equally, it is right for ${outOf100(evaluation.balancedAccuracy)}.</p>
        <table>
          <caption>How well it recognises each type</caption>
          <thead><tr><th scope="col">Type</th><th scope="col">Named correctly</th></tr></thead>
          <tbody>
            ${CLASSES.map(
              (c) => html`
              <tr data-code=${c.code}>
                <th scope="row">${c.name}</th>
                <td class="num">${formatPercent(evaluation.perClass[c.code].recall)}</td>
              </tr>`,
            )}
          </tbody>
        </table>`
          : html`<p class="muted">No measured accuracy: this model has not been evaluated.</p>`
      }
      ${card.limitations.length ? html`<h3>What it cannot do</h3><ul>${card.limitations.map((l) => html`<li>${l}</li>`)}</ul>` : nothing}
      <details>
        <summary>Technical details</summary>
        <dl>
          <dt>Version</dt><dd>${card.version}</dd>
          <dt>Created</dt><dd>${card.created}</dd>
          <dt>Architecture</dt><dd>${card.arch}, ${cardInputLabel(card)} px input${card.parameters ? `, ${card.parameters.toLocaleString('en-US')} parameters` : ''}</dd>
          <dt>Runs on</dt><dd>TensorFlow.js, WebAssembly, in this browser</dd>
          ${
            evaluation
              ? html`
            <dt>Measured on</dt><dd>${splitName(evaluation.split)} (${evaluation.n.toLocaleString('en-US')} images)</dd>
            <dt>Accuracy</dt><dd>accuracy ${formatPercent(evaluation.accuracy)}, balanced accuracy ${formatPercent(evaluation.balancedAccuracy)}; per-class recall in the table above (test images: ${CLASSES.map((c) => `${c.code} ${evaluation.perClass[c.code].support ?? '–'}`).join(', ')})</dd>`
              : nothing
          }
        </dl>
        ${card.training ? html`<p>${card.training}</p>` : nothing}
      </details>
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'dermlens-model-about': DermlensModelAbout;
  }
}
