// The result card's template and styles, as plain lit-html. <dermlens-card> (popup) renders it as a
// LitElement; the page overlay renders the same template with lit's render() into a closed shadow root,
// because content scripts run in an isolated world where window.customElements is null (Chromium 150:
// custom elements cannot be defined there). All text goes through template bindings, never innerHTML.
//
// Written for a curious patient first: what the model thinks it is, in everyday words, what to do about
// it (extension/shared/advice.ts), the seven probabilities with their full names, and the technical
// details one click away.
import { css, html, nothing, type TemplateResult } from 'lit';
import { classByCode } from '../../core/labels.ts';
import { adviceFor } from '../shared/advice.ts';
import type { ClassificationResult } from '../shared/messages.ts';
import type { ImageKind } from '../../core/dermoscopy-gate.ts';
import type { ClinicalPhotoFigures } from '../../core/model-card.ts';
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
  /** Whether "Where it looked" is on: the heatmap is drawn over the image by whoever shows the image. */
  heatmapShown?: boolean;
  onToggleHeatmap?: (shown: boolean) => void;
}

export const DISCLAIMER =
  'Not a diagnosis. DermLens is an educational tool, not a medical device: ' + 'show any new, changing or worrying spot to a doctor.';

function closeButton(props: CardViewProps): TemplateResult | typeof nothing {
  if (!props.closable) return nothing;
  return html`<button class="close" type="button" aria-label="Close the DermLens result" title="Close"
    @click=${() => props.onClose?.()}>&#x2715;</button>`;
}

/** The "Where it looked" toggle, in the header beside the close button (it costs the card no height). */
function heatmapToggle(props: CardViewProps): TemplateResult | typeof nothing {
  if (props.state !== 'result' || !props.result?.heatmap) return nothing;
  const shown = props.heatmapShown === true;
  return html`<button class="heatmap-toggle" type="button" aria-pressed=${shown ? 'true' : 'false'}
    @click=${() => props.onToggleHeatmap?.(!shown)}><span class="swatch" aria-hidden="true"></span>Where it looked</button>`;
}

function heatmapNote(result: ClassificationResult, props: CardViewProps): TemplateResult | typeof nothing {
  if (!result.heatmap || !props.heatmapShown) return nothing;
  return html`<p class="heatmap-note" data-part="heatmap-note">Red marks the parts of the photo that counted most for
    “${classByCode(result.heatmap.map.code).name}”. It shows what the model relied on, not what a doctor would check.</p>`;
}

function technicalDetails(result: ClassificationResult): TemplateResult {
  return html`
    <details class="technical">
      <summary>Technical details</summary>
      <ul>
        <li>Model: ${result.modelVersion}, running on this device in ${Math.round(result.ms)} ms; the image (${result.width}x${result.height} px) never left your computer.</li>
        <li>Classes: ${result.predictions.map((p) => `${p.code} ${formatPercent(p.probability)}`).join(', ')}.</li>
        ${result.melanomaThreshold !== null ? html`<li>Melanoma alert level: ${formatPercent(result.melanomaThreshold)} (chosen to catch 85% of melanomas on validation images, at the cost of false alarms).</li>` : nothing}
        ${result.heatmap ? html`<li>“Where it looked” is a class activation map: the top class's score split over a ${result.heatmap.map.width}x${result.heatmap.map.height} grid of the last convolutional layer (exact for this model's average-pooling head), from the same computation as the result.</li>` : nothing}
        ${result.dermoscopy ? html`<li>Dermoscopic-image check: score ${result.dermoscopy.score.toFixed(3)}; below ${result.dermoscopy.threshold.toFixed(3)} an image is treated as out of scope (set so that about 1 in 100 real dermoscopic validation images falls below it).</li>` : nothing}
        ${result.dermoscopy?.clinicalScore != null && !result.dermoscopy.dermoscopic ? html`<li>Ordinary-photo check: score ${result.dermoscopy.clinicalScore.toFixed(3)}; at or above ${result.dermoscopy.clinicalThreshold!.toFixed(3)} an image that is not dermoscopic is called an ordinary photo of skin, below it not skin.</li>` : nothing}
        <li>Trained on dermoscopic images (HAM10000 and other clinics' collections; “About the model” gives the details); ordinary phone photos are outside what it learned.</li>
      </ul>
    </details>`;
}

/** The dermoscopy gate said the image is not a dermoscopic image of a skin lesion. */
export const outOfScope = (result: ClassificationResult) => result.dermoscopy?.dermoscopic === false;

/** What the gate made of the image: dermoscopic, clinical (an ordinary photo of skin) or other; null without a gate. */
export const imageKindOf = (result: ClassificationResult): ImageKind | null => result.dermoscopy?.kind ?? null;

export const NOT_DERMOSCOPIC = 'This does not look like a dermoscopic image of a skin lesion';
export const ORDINARY_PHOTO = 'This looks like an ordinary photo of skin, not a dermoscopic image';

/** What DermLens measured on ordinary photos of skin (model-card.json), in a patient's words; nothing when the model card has no figures. */
function measuredOnPhotos(figures: ClinicalPhotoFigures | null | undefined): TemplateResult | typeof nothing {
  if (!figures) return nothing;
  const lesion =
    figures.lesionBalancedAccuracy !== null && figures.lesionChance !== null
      ? html`; its skin-spot answer on them was close to guessing (balanced accuracy ${figures.lesionBalancedAccuracy.toFixed(2)};
          guessing: ${figures.lesionChance.toFixed(2)})`
      : nothing;
  return html`<p class="measured" data-part="measured-on-photos">Tested on ${figures.photos}, it recognised
    ${formatPercent(figures.namedClinicalRate)} as ordinary photos${lesion}.</p>`;
}

/** The notice an image the gate flags leads with: the ordinary-photo wording for "clinical", the not-dermoscopic one for "other". */
function notDermoscopicNotice(result: ClassificationResult): TemplateResult {
  if (imageKindOf(result) === 'clinical') {
    return html`
      <div class="verdict out-of-scope" data-part="not-dermoscopic" data-image-kind="clinical">
        <p class="top"><strong>${ORDINARY_PHOTO}.</strong></p>
        <p class="advice">DermLens reads pictures taken through a dermatoscope (a skin magnifier with its own light, also made
          as phone and webcam attachments). It did not learn to read ordinary photos, so its answer here is not reliable.
          For a spot that worries you, see a doctor.</p>
        ${measuredOnPhotos(result.clinicalPhotos)}
      </div>`;
  }
  return html`
    <div class="verdict out-of-scope" data-part="not-dermoscopic" data-image-kind="other">
      <p class="top"><strong>${NOT_DERMOSCOPIC}.</strong></p>
      <p class="advice">DermLens only knows seven kinds of skin spot, photographed through a dermatoscope (a skin
        magnifier with its own light). For any other picture (a face, a place, a screenshot, an ordinary photo of
        the skin) its answer would be one of those seven whatever the picture shows, so it means nothing here.
        For a spot that worries you, see a doctor.</p>
    </div>`;
}

/**
 * An image the gate flags: the card leads with that, says why a lesion answer means little for it,
 * and folds the lesion answer behind "Show the result anyway" (a native <details>: keyboard and
 * screen-reader friendly, and it needs no state in the overlay or the popup).
 */
function outOfScopeView(result: ClassificationResult, props: CardViewProps): TemplateResult {
  return html`
    ${notDermoscopicNotice(result)}
    <details class="anyway" data-part="show-anyway">
      <summary>Show the result anyway</summary>
      ${lesionAnswer(result, props)}
    </details>
    ${technicalDetails(result)}
  `;
}

function resultView(result: ClassificationResult, props: CardViewProps): TemplateResult {
  if (outOfScope(result)) return outOfScopeView(result, props);
  return html`${lesionAnswer(result, props)}${technicalDetails(result)}`;
}

/** The lesion answer: verdict with advice, the seven bars, the cancer-and-pre-cancer sum. */
function lesionAnswer(result: ClassificationResult, props: CardViewProps): TemplateResult {
  const top = result.predictions[0];
  const advice = adviceFor(result);
  const urgent = advice.kind === 'melanoma';
  return html`
    ${
      result.untrained
        ? html`<p class="warning" role="note">Untrained development model: these numbers are random and mean nothing.</p>`
        : nothing
    }
    <div class="verdict ${advice.kind}" data-part="verdict" data-advice=${advice.kind}>
      <p class="top" data-part="top">
        <span class="label">Most likely:</span>
        <strong class="top-name">${top.name}</strong> <span class="top-percent">${formatPercent(top.probability)}</span>
      </p>
      <p class="advice" role=${urgent ? 'alert' : nothing} data-part=${urgent ? 'melanoma-alert' : 'advice'}>
        <strong class="headline">${advice.headline}.</strong> ${advice.text}
      </p>
    </div>
    ${heatmapNote(result, props)}
    <ul class="bars" aria-label="How likely each skin-spot type is">
      ${result.predictions.map(
        (p) => html`
        <li class="row ${p.group}" data-code=${p.code}>
          <span class="name" id="bar-${p.code}" title=${`${p.code}: ${classByCode(p.code).plainName}`}>${p.name}</span>
          <span class="track" role="meter" aria-labelledby="bar-${p.code}" aria-valuemin="0" aria-valuemax="100"
            aria-valuenow=${Math.round(p.probability * 1000) / 10} aria-valuetext=${formatPercent(p.probability)}>
            <span class="fill" style="width: ${(p.probability * 100).toFixed(2)}%"></span>
          </span>
          <span class="percent">${formatPercent(p.probability)}</span>
        </li>`,
      )}
    </ul>
    <p class="group" data-part="group">Cancer and pre-cancer types together: <strong>${formatPercent(result.concerningProbability)}</strong></p>
  `;
}

export function cardTemplate(props: CardViewProps): TemplateResult {
  const busy = props.state === 'loading';
  return html`
    <section class="card" role="region" aria-labelledby="dermlens-title" aria-busy=${busy ? 'true' : 'false'}>
      <header>
        <!-- Focus goes here when a card opens (tabindex -1): a screen reader starts at the title, and a
             non-interactive heading needs no focus ring; the buttons keep theirs. -->
        <h2 id="dermlens-title" tabindex="-1">DermLens result</h2>
        <span class="actions">${heatmapToggle(props)}${closeButton(props)}</span>
      </header>
      <div class="body" role="status" aria-live="polite">
        ${
          props.state === 'loading'
            ? html`
          <p class="loading"><span class="spinner" aria-hidden="true"></span> Classifying the image on this device…</p>
          ${props.message ? html`<p class="message">${props.message}</p>` : nothing}`
            : nothing
        }
        ${props.state === 'result' && props.result ? resultView(props.result, props) : nothing}
      </div>
      ${
        props.state === 'error'
          ? html`
        <div class="error" role="alert">
          <p><strong>Could not classify this image.</strong></p>
          <p class="error-text">${props.error ?? 'Unknown error.'}</p>
        </div>`
          : nothing
      }
      <p class="disclaimer">${DISCLAIMER}</p>
    </section>
  `;
}

/**
 * Self-contained styles: every property the card relies on is set here, so in the page overlay (where
 * the host is reset with `all: initial`) nothing from the page's stylesheet leaks in. The overlay sets
 * --dermlens-max-height when the viewport is shorter than the card: the card then scrolls inside.
 */
export const cardStyles = css`
  .card {
    box-sizing: border-box;
    width: 100%;
    max-width: 380px;
    max-height: var(--dermlens-max-height, none);
    overflow-y: auto;
    overscroll-behavior: contain;
    margin: 0;
    padding: 10px 12px;
    /* Scroll shadows: when the card is shortened to fit, a shade at the edge that has more content says
       "scroll here" (the white covers travel with the content, the shades stay at the edges). */
    background:
      linear-gradient(#fff 30%, rgba(255, 255, 255, 0)) center top / 100% 36px no-repeat local,
      linear-gradient(rgba(255, 255, 255, 0), #fff 70%) center bottom / 100% 36px no-repeat local,
      radial-gradient(farthest-side at 50% 0, rgba(0, 0, 0, 0.22), transparent) center top / 100% 12px no-repeat scroll,
      radial-gradient(farthest-side at 50% 100%, rgba(0, 0, 0, 0.22), transparent) center bottom / 100% 12px no-repeat scroll,
      #ffffff;
    color: #1b1f24;
    border: 1px solid #c9d1d9;
    border-radius: 10px;
    box-shadow: 0 6px 24px rgba(0, 0, 0, 0.18);
    font: 13px/1.35 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif;
    text-align: left;
    letter-spacing: normal;
    word-spacing: normal;
    text-transform: none;
    white-space: normal;
    outline: none;
  }
  header { display: flex; align-items: center; justify-content: space-between; gap: 6px; margin: 0 0 6px; }
  .actions { display: inline-flex; align-items: center; gap: 4px; }
  h2 { margin: 0; font-size: 13px; font-weight: 700; color: #0b5cad; outline: none; }
  p { margin: 4px 0; }
  button { font: inherit; }
  .close {
    all: unset; cursor: pointer; width: 24px; height: 24px; border-radius: 6px;
    display: inline-flex; align-items: center; justify-content: center; font-size: 14px; color: #444;
  }
  .close:hover { background: #eef1f4; }
  .close:focus-visible, .heatmap-toggle:focus-visible, summary:focus-visible { outline: 2px solid #0b5cad; outline-offset: 1px; }
  .loading { display: flex; align-items: center; gap: 8px; }
  .spinner {
    width: 14px; height: 14px; border-radius: 50%;
    border: 2px solid #c9d1d9; border-top-color: #0b5cad; animation: spin 0.8s linear infinite;
  }
  @keyframes spin { to { transform: rotate(360deg); } }
  @media (prefers-reduced-motion: reduce) { .spinner { animation: none; } }
  .message { color: #57606a; }
  .warning { background: #fff8c5; border: 1px solid #d4a72c; border-radius: 6px; padding: 4px 6px; color: #4d2d00; }
  /* The verdict's tone follows the advice; benign stays neutral grey on purpose: a green "benign" box
     would read as reassurance, which a screening aid must not give. */
  .verdict { padding: 6px 8px; border-radius: 8px; border: 1px solid #d0d7de; background: #f6f8fa; }
  .verdict.melanoma, .verdict.cancer { background: #fdecea; border-color: #f5c2bc; color: #6e1209; }
  .verdict.precancer { background: #fff4e0; border-color: #f0c987; color: #5c3a00; }
  .verdict.out-of-scope { background: #fff8c5; border-color: #d4a72c; color: #4d2d00; }
  .verdict.out-of-scope .top { font-size: 14px; }
  .verdict.out-of-scope .measured { margin: 4px 0 0; }
  .anyway { margin: 6px 0; }
  .anyway summary { cursor: pointer; color: #0b5cad; }
  .anyway[open] summary { margin-bottom: 4px; }
  .top { font-size: 15px; margin: 0; }
  .top .label { font-size: 12px; color: #57606a; }
  .top-percent { color: #57606a; white-space: nowrap; }
  .advice { margin: 4px 0 0; }
  .heatmap-toggle {
    display: inline-flex; align-items: center; gap: 6px; cursor: pointer; padding: 2px 7px; font-size: 12px; white-space: nowrap;
    border: 1px solid #8c959f; border-radius: 6px; background: #fff; color: #1b1f24;
  }
  .heatmap-toggle[aria-pressed='true'] { background: #0b5cad; border-color: #0b5cad; color: #fff; }
  .swatch { width: 12px; height: 12px; border-radius: 3px; background: linear-gradient(90deg, #ffd600, #ff8c00, #d6001c); }
  .heatmap-note { font-size: 12px; color: #57606a; margin: 4px 0 0; }
  .bars { list-style: none; margin: 6px 0; padding: 0; }
  .row { display: grid; grid-template-columns: minmax(0, 1fr) 56px 44px; gap: 6px; align-items: center; margin: 2px 0; }
  /* Full names, wrapped when long, never cut: a patient must be able to read every one. */
  .name { overflow-wrap: anywhere; line-height: 1.2; }
  .track { display: block; height: 8px; background: #eef1f4; border-radius: 4px; overflow: hidden; }
  .fill { display: block; height: 100%; background: #2f81f7; min-width: 1px; }
  .row.malignant .fill { background: #cf222e; }
  .row.precancerous .fill { background: #d97706; }
  .percent { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
  .group { margin: 4px 0; }
  .technical { font-size: 12px; color: #57606a; margin: 4px 0; }
  .technical summary { cursor: pointer; color: #0b5cad; }
  .technical ul { margin: 4px 0; padding-left: 18px; }
  .error { background: #ffebe9; border: 1px solid #ff8182; border-radius: 6px; padding: 6px 8px; color: #82071e; }
  .error-text { overflow-wrap: anywhere; }
  .disclaimer { font-size: 11px; color: #57606a; border-top: 1px solid #eef1f4; padding-top: 6px; margin: 6px 0 0; }
`;
