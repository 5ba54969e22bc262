// Percentile-bootstrap confidence intervals for metrics computed on a test split: how far a number
// could move on another sample of the same size. Several images of one lesion are not independent
// evidence, so when lesion ids are known whole lesions are resampled (a cluster bootstrap); resampling
// images one by one would give too narrow an interval.
import { argmax } from '../../core/metrics.ts';
import { makeRng } from '../data/rng.ts';

export interface Interval {
  low: number;
  high: number;
  level: number;
}

/**
 * `statistic(indices)` evaluated on `resamples` bootstrap samples of the rows 0..n-1 (drawn with
 * replacement, seeded so the card is reproducible); returns the central `level` interval of the
 * results. With `groups` (a group id per row, e.g. the lesion), whole groups are drawn instead.
 * Samples on which the statistic is undefined (NaN, e.g. a class missing) are skipped.
 */
export function bootstrapInterval(
  n: number,
  statistic: (indices: Uint32Array) => number,
  {
    resamples = 1000,
    level = 0.95,
    seed = 1,
    groups,
  }: { resamples?: number; level?: number; seed?: number; groups?: ArrayLike<string> } = {},
): Interval {
  if (!(n > 0)) throw new Error('bootstrapInterval: no samples');
  if (groups && groups.length !== n) throw new Error(`bootstrapInterval: ${groups.length} group ids for ${n} rows`);
  // Rows of each group; without groups every row is its own group.
  const members: number[][] = [];
  const byId = new Map<string, number[]>();
  for (let i = 0; i < n; i++) {
    if (!groups) {
      members.push([i]);
      continue;
    }
    let rows = byId.get(groups[i]);
    if (!rows) {
      rows = [];
      byId.set(groups[i], rows);
      members.push(rows);
    }
    rows.push(i);
  }
  const rng = makeRng(seed);
  const values: number[] = [];
  for (let r = 0; r < resamples; r++) {
    const drawn: number[] = [];
    for (let g = 0; g < members.length; g++) drawn.push(...members[Math.floor(rng() * members.length)]);
    const v = statistic(Uint32Array.from(drawn));
    if (!Number.isNaN(v)) values.push(v);
  }
  if (values.length === 0) throw new Error('bootstrapInterval: the statistic is undefined on every resample');
  values.sort((a, b) => a - b);
  const at = (q: number) => values[Math.min(values.length - 1, Math.max(0, Math.round(q * (values.length - 1))))];
  return { low: at((1 - level) / 2), high: at(1 - (1 - level) / 2), level };
}

/** Per-class recall of arg-max predictions over the rows in `indices`: NaN for a class with no row there. */
function recallsOf(labels: ArrayLike<number>, predicted: ArrayLike<number>, numClasses: number, indices: ArrayLike<number>): number[] {
  const hits = new Array<number>(numClasses).fill(0);
  const totals = new Array<number>(numClasses).fill(0);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k];
    totals[labels[i]]++;
    if (predicted[i] === labels[i]) hits[labels[i]]++;
  }
  return hits.map((h, c) => (totals[c] ? h / totals[c] : NaN));
}

/** Mean per-class recall of arg-max predictions over the rows in `indices` (NaN if a class is absent). */
export function balancedAccuracyOf(
  labels: ArrayLike<number>,
  predicted: ArrayLike<number>,
  numClasses: number,
  indices: ArrayLike<number>,
): number {
  const recalls = recallsOf(labels, predicted, numClasses, indices);
  return recalls.some(Number.isNaN) ? NaN : recalls.reduce((a, r) => a + r, 0) / numClasses;
}

/**
 * Mean recall over the classes present in the drawn rows, for sets that hold only some of the classes
 * (the external collections: bkl/mel/nv), where balancedAccuracyOf is undefined by design.
 */
export function presentClassesBalancedAccuracy(
  labels: ArrayLike<number>,
  predicted: ArrayLike<number>,
  numClasses: number,
  indices: ArrayLike<number>,
): number {
  const present = recallsOf(labels, predicted, numClasses, indices).filter((r) => !Number.isNaN(r));
  return present.length ? present.reduce((a, b) => a + b, 0) / present.length : NaN;
}

/**
 * presentClassesBalancedAccuracy of the arg-max of `probs` over every row, with its 95% bootstrap interval
 * drawn by `groups` (a lesion or patient id per row): what `dermlens evaluate` and fit-gate report for sets
 * that hold only some of the classes.
 */
export function presentClassesScore(
  labels: readonly number[],
  probs: ReadonlyArray<ArrayLike<number>>,
  numClasses: number,
  groups: readonly string[],
): { balancedAccuracy: number; interval: Interval } {
  const predicted = probs.map((p) => argmax(p));
  const statistic = (indices: ArrayLike<number>) => presentClassesBalancedAccuracy(labels, predicted, numClasses, indices);
  return {
    balancedAccuracy: statistic(Uint32Array.from(labels, (_, i) => i)),
    interval: bootstrapInterval(labels.length, statistic, { groups }),
  };
}
