// 95% bootstrap intervals on test for the card's balanced accuracy and melanoma-alert recall, from the
// shipped weights' own calibrated test predictions.
import { CLASS_CODES } from '../../core/labels.ts';
import { argmax, thresholdStats, type Metrics } from '../../core/metrics.ts';
import { balancedAccuracyOf, bootstrapInterval, type Interval } from '../evaluate/bootstrap.ts';
import { readLesionIds } from '../data/lesion-ids.ts';
import { readPredictions } from '../run/files.ts';
import { runPaths } from '../run/layout.ts';
import type { Weights } from './shipped-weights.ts';

export type TestIntervals = Awaited<ReturnType<typeof testIntervals>>;

export async function testIntervals(
  runDir: string,
  weights: Weights,
  shipped: { quantized: object | null; test: Metrics; op: { melanomaThreshold: number } | null },
  splitSource: string | undefined,
) {
  const { test, op } = shipped;
  const predictionsPath = shipped.quantized ? runPaths(runDir).quantizedPredictions(weights) : runPaths(runDir).predictions;
  const predictions = await readPredictions(predictionsPath, 'ship');
  if (!predictions) throw new Error(`${predictionsPath} is missing: the card's intervals need the shipped weights' test predictions`);
  const testLabels = predictions.test.labels;
  const predicted = predictions.test.probs.map((p) => argmax(p));
  const everyRow = Uint32Array.from(testLabels, (_, i) => i);
  // The file's probabilities are rounded to 6 significant digits, which can turn a near-tie into another
  // arg-max: one image of a small class moves balanced accuracy by under 0.002 (r5-mix05's float16 file:
  // 0.7010 against 0.7018). Another run's file would differ by far more.
  if (Math.abs(balancedAccuracyOf(testLabels, predicted, CLASS_CODES.length, everyRow) - test.balancedAccuracy) > 0.002) {
    throw new Error(`the ${weights} test predictions do not reproduce the test balanced accuracy of metrics-detail.json`);
  }
  const melIndex = CLASS_CODES.indexOf('mel');
  const isMel = testLabels.map((l) => l === melIndex);
  const melScores = predictions.test.probs.map((p) => p[melIndex]);
  /** Test recall of the alert rule on the drawn rows (undefined, so skipped, when they hold no melanoma). */
  const alertRecallOn = (threshold: number) => (idx: Uint32Array) => {
    const positives = Array.from(idx, (i) => isMel[i]);
    return positives.includes(true)
      ? thresholdStats(
          positives,
          Array.from(idx, (i) => melScores[i]),
          threshold,
        ).recall
      : NaN;
  };
  // Lesion ids from the metadata file the split was made from, so the bootstrap draws whole lesions. If
  // that file is not on this machine, images are drawn one by one and the card says so.
  const predictedIds: string[] = (predictions.test as { imageIds?: string[] }).imageIds ?? [];
  const lesions = predictedIds.length === testLabels.length ? await readLesionIds(splitSource, predictedIds) : undefined;
  // On a tiny test split every resample may miss a class: then there is no interval, and the card says nothing.
  const intervalOrNull = (make: () => Interval): Interval | null => {
    try {
      return make();
    } catch {
      return null;
    }
  };
  return {
    method: lesions
      ? `percentile bootstrap over the ${new Set(lesions).size} test lesions (all images of a drawn lesion together), 1000 resamples, seed 1`
      : 'percentile bootstrap over test images (lesion ids not available here; images of one lesion are correlated, so the true interval is somewhat wider), 1000 resamples, seed 1',
    balancedAccuracy: intervalOrNull(() =>
      bootstrapInterval(testLabels.length, (idx) => balancedAccuracyOf(testLabels, predicted, CLASS_CODES.length, idx), {
        groups: lesions,
      }),
    ),
    melanomaRecallAtOperatingPoint: op
      ? intervalOrNull(() => bootstrapInterval(testLabels.length, alertRecallOn(op.melanomaThreshold), { groups: lesions }))
      : null,
  };
}
