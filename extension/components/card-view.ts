// The result card's template and styles, as plain lit-html. <dermlens-card> (popup) renders it as a
// LitElement; the page overlay renders the same template with lit's render() into a closed shadow root,
// because content scripts run in an isolated world where window.customElements is null (Chromium 150:
// custom elements cannot be defined there). All text goes through template bindings, never innerHTML.
import { css, html, nothing, type TemplateResult } from 'lit';
import { CLASSES } from '../../core/labels.ts';
import type { ClassificationResult } from '../shared/messages.ts';
import { formatPercent } from '../shared/result.ts';

export type CardViewState = 'idle' | 'loading' | 'result' | 'error';

export interface CardViewProps {
  state: CardViewState;
  result?: ClassificationResult | null;
  error?: string;
  /** Extra line while loading, e.g. "Waiting for your permission…". */
  message?: string;
  /** Shows the close button (the page overlay and the popup's result view). */
  closable: boolean;
  onClose?: () => void;
}

export const DISCLAIMER = 'Not a diagnosis. DermLens is an educational tool, not a medical device: '
  + 'show any new, changing or worrying spot to a doctor.';

const MALIGNANT_CODES = CLASSES.filter((c) => c.group === 'malignant').map((c) => c.code).join(', ');

function closeButton(props: CardViewProps): TemplateResult | typeof nothing {
  if (!props.closable) return nothing;
  return html`<button class="close" type="button" aria-label="Close the DermLens result" title="Close"
    @click=${() => props.onClose?.()}>&#x2715;</button>`;
}

function resultView(result: ClassificationResult): TemplateResult {
  const top = result.predictions[0];
  const malignant = result.malignantProbability;
  return html`
    ${result.untrained
      ? html`<p class="warning" role="note">Untrained development model: these numbers are random and mean nothing.</p>`
      : nothing}
    <p class="top" data-part="top">
      <span class="label">Most likely</span>
      <strong class="top-name">${top.name}</strong>
      <span class="top-code">(${top.code})</span>
      <span class="top-percent">${formatPercent(top.probability)}</span>
    </p>
    ${result.melanomaAlert ? html`
      <p class="alert" role="alert" data-part="melanoma-alert">
        <strong>Melanoma cannot be ruled out:</strong> its probability (${formatPercent(result.predictions.find((p) => p.code === 'mel')!.probability)})
        is above this model's alert level (${formatPercent(result.melanomaThreshold!)}). Please show this spot to a doctor.
      </p>` : nothing}
    <p class="group" data-part="group">
      Malignant group (${MALIGNANT_CODES}): <strong>${formatPercent(malignant)}</strong>;
      benign group: <strong>${formatPercent(1 - malignant)}</strong>
    </p>
    <ul class="bars" aria-label="Probability of each lesion type">
      ${result.predictions.map((p) => html`
        <li class="row ${p.group}" data-code=${p.code}>
          <span class="name" id="bar-${p.code}"><abbr title=${p.name}>${p.code}</abbr> ${p.name}</span>
          <span class="track" role="meter" aria-labelledby="bar-${p.code}" aria-valuemin="0" aria-valuemax="100"
            aria-valuenow=${Math.round(p.probability * 1000) / 10} aria-valuetext=${formatPercent(p.probability)}>
            <span class="fill" style="width: ${(p.probability * 100).toFixed(2)}%"></span>
          </span>
          <span class="percent">${formatPercent(p.probability)}</span>
        </li>`)}
    </ul>
    <p class="meta">${result.modelVersion} · ${result.width}x${result.height} px · ${Math.round(result.ms)} ms, on this device</p>
  `;
}

export function cardTemplate(props: CardViewProps): TemplateResult {
  const busy = props.state === 'loading';
  return html`
    <section class="card" role="region" aria-label="DermLens skin lesion result" aria-busy=${busy ? 'true' : 'false'} tabindex="-1">
      <header>
        <h2>DermLens</h2>
        ${closeButton(props)}
      </header>
      <div class="body" role="status" aria-live="polite">
        ${props.state === 'loading' ? html`
          <p class="loading"><span class="spinner" aria-hidden="true"></span> Classifying the image on this device…</p>
          ${props.message ? html`<p class="message">${props.message}</p>` : nothing}` : nothing}
        ${props.state === 'result' && props.result ? resultView(props.result) : nothing}
      </div>
      ${props.state === 'error' ? html`
        <div class="error" role="alert">
          <p><strong>Could not classify this image.</strong></p>
          <p class="error-text">${props.error ?? 'Unknown error.'}</p>
        </div>` : nothing}
      <p class="disclaimer">${DISCLAIMER}</p>
    </section>
  `;
}

/**
 * Self-contained styles: every property the card relies on is set here, so in the page overlay (where
 * the host is reset with `all: initial`) nothing from the page's stylesheet leaks in.
 */
export const cardStyles = css`
  .card {
    box-sizing: border-box;
    width: 100%;
    max-width: 360px;
    margin: 0;
    padding: 12px 14px;
    background: #ffffff;
    color: #1b1f24;
    border: 1px solid #c9d1d9;
    border-radius: 10px;
    box-shadow: 0 6px 24px rgba(0, 0, 0, 0.18);
    font: 13px/1.4 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif;
    text-align: left;
    letter-spacing: normal;
    outline: none;
  }
  .card:focus-visible { outline: 2px solid #0b5cad; outline-offset: 2px; }
  header { display: flex; align-items: center; justify-content: space-between; margin: 0 0 6px; }
  h2 { margin: 0; font-size: 14px; font-weight: 700; color: #0b5cad; }
  .alert { padding: 6px 8px; border-radius: 6px; background: #fdecea; color: #8a1c12; border: 1px solid #f5c2bc; }
  p { margin: 4px 0; }
  .close {
    all: unset; cursor: pointer; width: 24px; height: 24px; border-radius: 6px;
    display: inline-flex; align-items: center; justify-content: center; font-size: 14px; color: #444;
  }
  .close:hover { background: #eef1f4; }
  .close:focus-visible { outline: 2px solid #0b5cad; }
  .loading { display: flex; align-items: center; gap: 8px; }
  .spinner {
    width: 14px; height: 14px; border-radius: 50%;
    border: 2px solid #c9d1d9; border-top-color: #0b5cad; animation: spin 0.8s linear infinite;
  }
  @keyframes spin { to { transform: rotate(360deg); } }
  @media (prefers-reduced-motion: reduce) { .spinner { animation: none; } }
  .message { color: #57606a; }
  .warning { background: #fff8c5; border: 1px solid #d4a72c; border-radius: 6px; padding: 4px 6px; color: #4d2d00; }
  .top { font-size: 14px; }
  .top .label { display: block; font-size: 11px; text-transform: uppercase; color: #57606a; letter-spacing: 0.04em; }
  .top-code, .top-percent { color: #57606a; }
  /* Neutral on purpose: a green "benign" box would read as reassurance, which a screening aid must not give. */
  .group { padding: 4px 6px; border-radius: 6px; background: #f6f8fa; border: 1px solid #d0d7de; }
  .bars { list-style: none; margin: 8px 0; padding: 0; }
  .row { display: grid; grid-template-columns: 1fr 70px 46px; gap: 6px; align-items: center; margin: 3px 0; }
  .name { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
  abbr { text-decoration: none; font-weight: 600; font-family: ui-monospace, monospace; }
  .track { display: block; height: 8px; background: #eef1f4; border-radius: 4px; overflow: hidden; }
  .fill { display: block; height: 100%; background: #2f81f7; min-width: 1px; }
  .row.malignant .fill { background: #cf222e; }
  .percent { text-align: right; font-variant-numeric: tabular-nums; }
  .meta { font-size: 11px; color: #57606a; }
  .error { background: #ffebe9; border: 1px solid #ff8182; border-radius: 6px; padding: 6px 8px; color: #82071e; }
  .error-text { overflow-wrap: anywhere; }
  .disclaimer { font-size: 11px; color: #57606a; border-top: 1px solid #eef1f4; padding-top: 6px; margin-top: 8px; }
`;
