// What the camera view says about dermatoscopes, before and after the shot. The camera is the way in where
// people most often have no dermatoscope attached, and DermLens reads only images taken through one, so
// the popup says so before the photo is taken and again beside the result. Plain lit-html templates,
// rendered by <dermlens-camera> (before) and <dermlens-popup> (after).
import { html, nothing, type TemplateResult } from 'lit';
import type { ClinicalPhotoFigures } from '../../core/model-card.ts';
import type { ClassificationResult } from '../shared/messages.ts';
import { formatPercent } from '../shared/result.ts';

/** Before the shot: what DermLens reads, and what to expect without a dermatoscope. */
export function cameraBeforeShot(figures: ClinicalPhotoFigures | null | undefined): TemplateResult {
  return html`<p class="camera-advice" data-part="camera-before-shot">
    <strong>DermLens reads images taken through a dermatoscope</strong> (a skin magnifier with its own light; there are
    attachments for phones and webcams). Hold the camera to the dermatoscope's lens, on the spot. A plain camera photo of
    the skin is not what it learned: it will most likely say "This looks like an ordinary photo of skin" and keep its answer
    folded away${figures ? html`, as it did for ${formatPercent(figures.namedClinicalRate)} of the phone photos it was tested on` : nothing}.
  </p>`;
}

/** After the shot, beside the result: the same, measured against what the gate said of this photo. */
export function cameraAfterShot(result: ClassificationResult, figures: ClinicalPhotoFigures | null | undefined): TemplateResult {
  const kind = result.dermoscopy?.kind ?? null;
  const text =
    kind === 'dermoscopic'
      ? html`If none was attached, do not rely on this answer${
          figures
            ? html`: in testing, ${formatPercent(1 - figures.notDermoscopicRate)} of ordinary phone photos still passed as dermoscopic`
            : nothing
        }.`
      : kind === null
        ? html`Without one, its answer is not reliable.`
        : html`Without one, expect this notice every time.`;
  return html`<p class="camera-advice" data-part="camera-after-shot" data-image-kind=${kind ?? nothing}>
    <strong>Taken with the camera.</strong> DermLens reads images taken through a dermatoscope. ${text}
  </p>`;
}
