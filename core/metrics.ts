import { CLASS_CODES, type ClassCode } from './labels.ts';

export interface ClassMetrics {
  precision: number;
  recall: number;
  f1: number;
  /** One-vs-rest ROC AUC; null when the class has no positives or no negatives in the set. */
  auc: number | null;
  support: number;
}

/** The evaluation summary; `dermlens evaluate --json` writes exactly these keys. */
export interface Metrics {
  n: number;
  accuracy: number;
  /** Mean recall over the classes present in the ground truth. */
  balancedAccuracy: number;
  /** Mean F1 over the classes present in the ground truth or the predictions (as scikit-learn). */
  macroF1: number;
  /** Mean one-vs-rest AUC over the classes whose AUC is defined; null if none is. */
  macroAuc: number | null;
  /** Expected calibration error of the top-class confidence, 15 equal-width bins. */
  ece: number;
  perClass: Record<ClassCode, ClassMetrics>;
  /** confusion[truth][predicted], classes in CLASS_CODES order. */
  confusion: number[][];
  classes: ClassCode[];
}

export const ECE_BINS = 15;

export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

function mean(values: number[]): number {
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : NaN;
}

/**
 * One-vs-rest ROC AUC by the rank-sum (Mann-Whitney U) formula, with tied scores given their average
 * rank, which equals the trapezoidal area under the ROC curve. Null when either side is empty.
 */
export function rocAuc(isPositive: boolean[], scores: number[]): number | null {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  const ranks = new Float64Array(n);
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]] === scores[order[i]]) j++;
    const avgRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k]] = avgRank;
    i = j + 1;
  }
  let positives = 0;
  let rankSum = 0;
  for (let i = 0; i < n; i++)
    if (isPositive[i]) {
      positives++;
      rankSum += ranks[i];
    }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return null;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** ROC curve points (false-positive rate, true-positive rate), one per distinct threshold, from (0,0) to (1,1). */
export function rocCurve(isPositive: boolean[], scores: number[]): { fpr: number[]; tpr: number[] } {
  const order = scores.map((s, i) => [s, i] as const).sort((a, b) => b[0] - a[0]);
  const positives = isPositive.filter(Boolean).length;
  const negatives = isPositive.length - positives;
  const fpr = [0];
  const tpr = [0];
  let tp = 0;
  let fp = 0;
  for (let k = 0; k < order.length; k++) {
    if (isPositive[order[k][1]]) tp++;
    else fp++;
    if (k + 1 === order.length || order[k + 1][0] !== order[k][0]) {
      fpr.push(negatives ? fp / negatives : 0);
      tpr.push(positives ? tp / positives : 0);
    }
  }
  return { fpr, tpr };
}

/** ECE: |accuracy - mean confidence| per confidence bin, weighted by the bin's share of samples. */
export function expectedCalibrationError(yTrue: number[], probs: ArrayLike<number>[], bins = ECE_BINS): number {
  const count = new Float64Array(bins);
  const correct = new Float64Array(bins);
  const confidence = new Float64Array(bins);
  probs.forEach((p, i) => {
    const predicted = argmax(p);
    const conf = p[predicted];
    const bin = Math.min(bins - 1, Math.floor(conf * bins));
    count[bin]++;
    confidence[bin] += conf;
    if (predicted === yTrue[i]) correct[bin]++;
  });
  let ece = 0;
  for (let b = 0; b < bins; b++) if (count[b]) ece += Math.abs(correct[b] - confidence[b]);
  return yTrue.length ? ece / yTrue.length : 0;
}

/**
 * All evaluation metrics from true class indices and predicted probability rows (CLASS_CODES order).
 * The predicted class is the arg-max of each row.
 */
export function computeMetrics(yTrue: number[], probs: ArrayLike<number>[]): Metrics {
  const k = CLASS_CODES.length;
  if (yTrue.length !== probs.length) {
    throw new Error(`computeMetrics: ${yTrue.length} labels but ${probs.length} probability rows.`);
  }
  probs.forEach((row, i) => {
    if (row.length !== k) throw new Error(`computeMetrics: row ${i} has ${row.length} probabilities, expected ${k}.`);
  });
  yTrue.forEach((y, i) => {
    if (!Number.isInteger(y) || y < 0 || y >= k) throw new Error(`computeMetrics: label ${y} at row ${i} is not a class index.`);
  });

  const n = yTrue.length;
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const predicted = probs.map((p) => argmax(p));
  yTrue.forEach((y, i) => confusion[y][predicted[i]]++);

  const perClass = {} as Record<ClassCode, ClassMetrics>;
  const presentRecalls: number[] = [];
  const f1s: number[] = [];
  const aucs: number[] = [];
  CLASS_CODES.forEach((code, c) => {
    const tp = confusion[c][c];
    const support = confusion[c].reduce((a, b) => a + b, 0);
    const predictedCount = confusion.reduce((a, row) => a + row[c], 0);
    const precision = predictedCount ? tp / predictedCount : 0;
    const recall = support ? tp / support : 0;
    const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
    const auc = rocAuc(
      yTrue.map((y) => y === c),
      probs.map((p) => p[c]),
    );
    perClass[code] = { precision, recall, f1, auc, support };
    if (support) presentRecalls.push(recall);
    if (support || predictedCount) f1s.push(f1);
    if (auc !== null) aucs.push(auc);
  });

  return {
    n,
    accuracy: n ? predicted.filter((p, i) => p === yTrue[i]).length / n : 0,
    balancedAccuracy: presentRecalls.length ? mean(presentRecalls) : 0,
    macroF1: f1s.length ? mean(f1s) : 0,
    macroAuc: aucs.length ? mean(aucs) : null,
    ece: expectedCalibrationError(yTrue, probs),
    perClass,
    confusion,
    classes: [...CLASS_CODES],
  };
}

/** Recall and precision of "flag when score >= threshold" for one class, and the share of images flagged. */
export function thresholdStats(
  isPositive: boolean[],
  scores: number[],
  threshold: number,
): { recall: number; precision: number; flagged: number } {
  let tp = 0,
    flagged = 0,
    positives = 0;
  scores.forEach((s, i) => {
    if (isPositive[i]) positives++;
    if (s >= threshold) {
      flagged++;
      if (isPositive[i]) tp++;
    }
  });
  return {
    recall: positives ? tp / positives : 0,
    precision: flagged ? tp / flagged : 0,
    flagged: scores.length ? flagged / scores.length : 0,
  };
}

/**
 * The highest threshold whose recall on these (validation) scores is at least `targetRecall`: the
 * operating point that flags as few images as possible while catching the wanted share of positives.
 */
export function thresholdForRecall(isPositive: boolean[], scores: number[], targetRecall: number): number {
  const positives = scores.filter((_, i) => isPositive[i]).sort((a, b) => b - a);
  if (positives.length === 0) throw new Error('thresholdForRecall: no positive examples');
  const needed = Math.max(1, Math.ceil(targetRecall * positives.length - 1e-9));
  return positives[Math.min(needed, positives.length) - 1];
}
