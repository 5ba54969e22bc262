// <dermlens-model-about>: "About the model", from model-card.json: what the model is, what it was
// trained on, its measured per-class recall, and its limits.
import { css, html, LitElement, nothing } from 'lit';
import { CLASSES } from '../../core/labels.ts';
import type { ModelCard } from '../shared/model-card.ts';
import { formatPercent } from '../shared/result.ts';

export class DermlensModelAbout extends LitElement {
  static override properties = {
    card: { attribute: false },
    error: { type: String },
  };

  static override styles = css`
    :host { display: block; font: 13px/1.4 system-ui, sans-serif; color: #1b1f24; }
    h2 { font-size: 14px; margin: 0 0 4px; }
    dl { display: grid; grid-template-columns: auto 1fr; gap: 2px 10px; margin: 6px 0; }
    dt { color: #57606a; }
    dd { margin: 0; }
    table { border-collapse: collapse; width: 100%; margin: 6px 0; }
    caption { text-align: left; font-weight: 600; margin-bottom: 4px; }
    th, td { text-align: left; padding: 3px 6px; border-bottom: 1px solid #eef1f4; }
    td.num { text-align: right; font-variant-numeric: tabular-nums; }
    .warning { background: #fff8c5; border: 1px solid #d4a72c; border-radius: 6px; padding: 4px 6px; color: #4d2d00; }
    .error { color: #82071e; }
    .muted { color: #57606a; }
  `;

  card: ModelCard | null = null;
  error = '';

  override render() {
    if (this.error) return html`<p class="error" role="alert">Could not read the model card: ${this.error}</p>`;
    const card = this.card;
    if (!card) return html`<p class="muted" role="status">Loading the model card…</p>`;
    const evaluation = card.evaluation;
    return html`
      <h2>${card.name}</h2>
      ${card.untrained ? html`<p class="warning" role="note">This is the untrained development model: its predictions are random.</p>` : nothing}
      <dl>
        <dt>Version</dt><dd>${card.version}</dd>
        <dt>Created</dt><dd>${card.created}</dd>
        <dt>Architecture</dt><dd>${card.arch}, ${card.inputSize}x${card.inputSize} px input${card.parameters ? `, ${card.parameters.toLocaleString('en-US')} parameters` : ''}</dd>
        <dt>Runs</dt><dd>on this device (WebAssembly); images never leave your computer</dd>
      </dl>
      ${card.training ? html`<p>${card.training}</p>` : nothing}
      ${evaluation ? html`
        <p>Measured on ${evaluation.split} (${evaluation.n.toLocaleString('en-US')} images):
          accuracy ${formatPercent(evaluation.accuracy)}, balanced accuracy ${formatPercent(evaluation.balancedAccuracy)}.</p>
        <table>
          <caption>Recall per lesion type (share of that type the model ranks first)</caption>
          <thead><tr><th scope="col">Type</th><th scope="col">Recall</th><th scope="col">Test images</th></tr></thead>
          <tbody>
            ${CLASSES.map((c) => html`
              <tr data-code=${c.code}>
                <th scope="row"><abbr title=${c.name}>${c.code}</abbr> ${c.name}</th>
                <td class="num">${formatPercent(evaluation.perClass[c.code].recall)}</td>
                <td class="num">${evaluation.perClass[c.code].support ?? '–'}</td>
              </tr>`)}
          </tbody>
        </table>`
        : html`<p class="muted">No measured accuracy: this model has not been evaluated.</p>`}
      ${card.limitations.length ? html`<ul>${card.limitations.map((l) => html`<li>${l}</li>`)}</ul>` : nothing}
    `;
  }
}

if (!customElements.get('dermlens-model-about')) customElements.define('dermlens-model-about', DermlensModelAbout);

declare global {
  interface HTMLElementTagNameMap { 'dermlens-model-about': DermlensModelAbout }
}
