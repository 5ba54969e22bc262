// How a classifier (and its dermoscopy gate) reads dermoscopic images that show the dermoscope's round field
// of view: dataset images scored as they are and with everything outside a centred circle blacked out
// (augment.ts centredFieldOfView). scripts/check-field-of-view.ts writes the report into a run folder
// (run/layout.ts fieldOfView); `dermlens ship` prints the test side's in the model card.
import type { Classifier } from '../../core/classifier.ts';
import { CLASS_CODES } from '../../core/labels.ts';
import { formatInputSize } from '../../core/preprocess.ts';
import { computeMetrics } from '../../core/metrics.ts';
import type { Dataset } from '../data/dataset.ts';
import { PREDICT_BATCH } from '../evaluate/predict.ts';
import { centredFieldOfView, maskFieldOfView } from './augment.ts';

/** The circles scored: none, then diameters as multiples of the 4:3 photo's height. */
export const FIELD_OF_VIEW_DIAMETERS: readonly (number | null)[] = [null, 1.25, 1, 0.85];

export interface FieldOfViewRow {
  fieldOfView: string;
  balancedAccuracy: number;
  macroAuc: number | null;
  recall: Record<string, number>;
  /** Share flagged "not dermoscopic" by the gate; null for a model without one. */
  gateFlagged: number | null;
}

export interface FieldOfViewReport {
  format: 'dermlens-field-of-view-v1';
  /** The scored model folder (absolute). */
  model: string;
  side: 'val' | 'test';
  images: number;
  rows: FieldOfViewRow[];
}

/** One row per FIELD_OF_VIEW_DIAMETERS entry for the dataset images at `indices`. */
export async function scoreFieldOfView(classifier: Classifier, ds: Dataset, indices: readonly number[]): Promise<FieldOfViewRow[]> {
  const { width, height } = classifier.inputShape;
  if (ds.shape.width !== width || ds.shape.height !== height)
    throw new Error(`the images are at ${formatInputSize(ds.shape)} px, the model takes ${formatInputSize(classifier.inputShape)} px`);
  const per = height * width * 3;
  const labels = indices.map((i) => ds.items[i].label);
  const rows: FieldOfViewRow[] = [];
  for (const diameter of FIELD_OF_VIEW_DIAMETERS) {
    const probabilities: Float32Array[] = [];
    let flagged = 0;
    for (let start = 0; start < indices.length; start += PREDICT_BATCH) {
      const inputs = indices.slice(start, start + PREDICT_BATCH).map((i) => {
        const pixels = ds.pixels.slice(i * per, (i + 1) * per);
        if (diameter !== null) maskFieldOfView(pixels, width, height, 3, centredFieldOfView(classifier.inputShape, diameter));
        return pixels;
      });
      for (const r of await classifier.assessInputs(inputs)) {
        probabilities.push(r.probabilities);
        if (r.dermoscopy && !r.dermoscopy.dermoscopic) flagged++;
      }
    }
    const m = computeMetrics(labels, probabilities);
    rows.push({
      fieldOfView: diameter === null ? 'none' : `circle ${diameter}x the height`,
      balancedAccuracy: m.balancedAccuracy,
      macroAuc: m.macroAuc,
      recall: Object.fromEntries(CLASS_CODES.map((c) => [c, m.perClass[c].recall])),
      gateFlagged: classifier.metadata.dermoscopyThreshold == null ? null : flagged / indices.length,
    });
  }
  return rows;
}
