// Percentile-bootstrap confidence intervals for metrics computed on a test split: how far a number
// could move on another sample of the same size. Images are resampled one by one; several images of
// one lesion are correlated, so the true interval is somewhat wider than this one.
import { makeRng } from './rng.ts';

export interface Interval { low: number; high: number; level: number }

/**
 * `statistic(indices)` evaluated on `resamples` bootstrap samples of 0..n-1 (drawn with replacement,
 * seeded so the card is reproducible); returns the central `level` interval of the results.
 * Samples on which the statistic is undefined (NaN, e.g. a class missing) are skipped.
 */
export function bootstrapInterval(n: number, statistic: (indices: Uint32Array) => number,
  { resamples = 1000, level = 0.95, seed = 1 } = {}): Interval {
  if (!(n > 0)) throw new Error('bootstrapInterval: no samples');
  const rng = makeRng(seed);
  const values: number[] = [];
  const indices = new Uint32Array(n);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < n; i++) indices[i] = Math.floor(rng() * n);
    const v = statistic(indices);
    if (!Number.isNaN(v)) values.push(v);
  }
  if (values.length === 0) throw new Error('bootstrapInterval: the statistic is undefined on every resample');
  values.sort((a, b) => a - b);
  const at = (q: number) => values[Math.min(values.length - 1, Math.max(0, Math.round(q * (values.length - 1))))];
  return { low: at((1 - level) / 2), high: at(1 - (1 - level) / 2), level };
}

/** Mean per-class recall of arg-max predictions over the rows in `indices` (NaN if a class is absent). */
export function balancedAccuracyOf(labels: ArrayLike<number>, predicted: ArrayLike<number>, numClasses: number, indices: ArrayLike<number>): number {
  const hits = new Array<number>(numClasses).fill(0);
  const totals = new Array<number>(numClasses).fill(0);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k];
    totals[labels[i]]++;
    if (predicted[i] === labels[i]) hits[labels[i]]++;
  }
  if (totals.some((t) => t === 0)) return NaN;
  return hits.reduce((a, h, c) => a + h / totals[c], 0) / numClasses;
}

/** Recall of the rule `score >= threshold` for the positives among `indices` (NaN without positives). */
export function recallAtThreshold(isPositive: ArrayLike<boolean>, scores: ArrayLike<number>, threshold: number, indices: ArrayLike<number>): number {
  let positives = 0, caught = 0;
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k];
    if (!isPositive[i]) continue;
    positives++;
    if (scores[i] >= threshold) caught++;
  }
  return positives ? caught / positives : NaN;
}
