// Scores on the external validation set (images of other institutions, never trained on), whole and
// per collection, with the melanoma alert at the threshold chosen on validation: what `dermlens train`'s
// final evaluation and `dermlens evaluate` report for such images.
import { CLASS_CODES } from '../../core/labels.ts';
import { computeMetrics, thresholdStats, type Metrics } from '../../core/metrics.ts';
import type { LabelledImage } from '../data/metadata.ts';

/** The external validation set (never trained on), whole and per collection, with the shipped settings. */
export interface ExternalEvaluation {
  all: Metrics;
  byCollection: Record<string, Metrics>;
  /** The melanoma alert at the threshold chosen on validation. */
  melanomaAlert: { recall: number; precision: number; flagged: number } | null;
  melanomaAlertByCollection: Record<string, { recall: number; precision: number; flagged: number }>;
}

/** External-set metrics, whole and per collection (an image's dataset, else its source). */
export function scoreExternal(
  items: readonly LabelledImage[],
  probs: ArrayLike<number>[],
  melanomaThreshold: number | null,
): ExternalEvaluation {
  const mel = CLASS_CODES.indexOf('mel');
  const alert = (rows: number[]) =>
    melanomaThreshold === null
      ? null
      : thresholdStats(
          rows.map((r) => items[r].label === mel),
          rows.map((r) => probs[r][mel]),
          melanomaThreshold,
        );
  const all = items.map((_, r) => r);
  const byName = new Map<string, number[]>();
  items.forEach((item, r) => {
    const name = item.dataset ?? item.source ?? 'external';
    byName.set(name, [...(byName.get(name) ?? []), r]);
  });
  const byCollection: Record<string, Metrics> = {};
  const melanomaAlertByCollection: ExternalEvaluation['melanomaAlertByCollection'] = {};
  for (const [name, rows] of [...byName.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    byCollection[name] = computeMetrics(
      rows.map((r) => items[r].label),
      rows.map((r) => probs[r]),
    );
    const a = alert(rows);
    if (a) melanomaAlertByCollection[name] = a;
  }
  return {
    all: computeMetrics(
      items.map((i) => i.label),
      probs,
    ),
    byCollection,
    melanomaAlert: alert(all),
    melanomaAlertByCollection,
  };
}
