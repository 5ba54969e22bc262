import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeMetrics, expectedCalibrationError, rocAuc, rocCurve } from '../../core/metrics.ts';

const near = (a: number | null, b: number, eps = 1e-9) => assert.ok(a !== null && Math.abs(a - b) <= eps, `${a} vs ${b}`);

/** A probability row that puts `p` on class `c` and spreads the rest evenly. */
function row(c: number, p: number): number[] {
  return Array.from({ length: 7 }, (_, i) => (i === c ? p : (1 - p) / 6));
}

test('rocAuc: perfect, inverted, random-tie and hand-computed cases', () => {
  near(rocAuc([false, false, true, true], [0.1, 0.2, 0.8, 0.9]), 1);
  near(rocAuc([true, true, false, false], [0.1, 0.2, 0.8, 0.9]), 0);
  near(rocAuc([true, false], [0.5, 0.5]), 0.5);
  // Positives 0.8, 0.4; negatives 0.6, 0.2, 0.1. Pairs won: 0.8 beats 3, 0.4 beats 2 -> 5/6.
  near(rocAuc([true, false, true, false, false], [0.8, 0.6, 0.4, 0.2, 0.1]), 5 / 6);
  // A tie between a positive and a negative counts one half: (1 + 0.5) / 2.
  near(rocAuc([true, false, true, false], [0.9, 0.5, 0.5, 0.1]), (2 + 1 + 0.5 + 0) / 4);
  assert.equal(rocAuc([true, true], [0.1, 0.2]), null);
});

test('rocCurve runs from (0,0) to (1,1) and its trapezoid area equals rocAuc', () => {
  const pos = [true, false, true, false, false, true];
  const s = [0.8, 0.6, 0.4, 0.4, 0.1, 0.9];
  const { fpr, tpr } = rocCurve(pos, s);
  assert.deepEqual([fpr[0], tpr[0], fpr.at(-1), tpr.at(-1)], [0, 0, 1, 1]);
  let area = 0;
  for (let i = 1; i < fpr.length; i++) area += ((fpr[i] - fpr[i - 1]) * (tpr[i] + tpr[i - 1])) / 2;
  near(area, rocAuc(pos, s)!);
});

test('computeMetrics on a hand-worked 3-class example', () => {
  // truth:      mel mel mel nv nv nv nv bcc
  // predicted:  mel mel nv  nv nv nv mel bcc
  const truth = [4, 4, 4, 5, 5, 5, 5, 1];
  const probs = [row(4, 0.9), row(4, 0.8), row(5, 0.6), row(5, 0.9), row(5, 0.7), row(5, 0.95), row(4, 0.55), row(1, 0.99)];
  const m = computeMetrics(truth, probs);
  assert.equal(m.n, 8);
  near(m.accuracy, 6 / 8);
  // recalls: mel 2/3, nv 3/4, bcc 1 -> mean over present classes.
  near(m.perClass.mel.recall, 2 / 3);
  near(m.perClass.nv.recall, 3 / 4);
  near(m.balancedAccuracy, (2 / 3 + 3 / 4 + 1) / 3);
  // precision: mel 2/3 (2 of 3 predicted mel), nv 3/4.
  near(m.perClass.mel.precision, 2 / 3);
  near(m.perClass.nv.f1, 3 / 4);
  near(m.macroF1, (2 / 3 + 3 / 4 + 1) / 3);
  assert.equal(m.perClass.mel.support, 3);
  assert.equal(m.perClass.akiec.support, 0);
  assert.equal(m.perClass.akiec.auc, null);
  assert.deepEqual(m.confusion[4], [0, 0, 0, 0, 2, 1, 0]);
  assert.deepEqual(m.confusion[5], [0, 0, 0, 0, 1, 3, 0]);
  assert.deepEqual(m.classes, ['akiec', 'bcc', 'bkl', 'df', 'mel', 'nv', 'vasc']);
  // bcc is perfectly separated by its own score.
  near(m.perClass.bcc.auc!, 1);
  assert.ok(m.macroAuc! > 0.5 && m.macroAuc! <= 1);
});

test('expected calibration error: hand-computed bins', () => {
  // Two samples at confidence 0.9 (bin 13), one right one wrong: |1 - 1.8| = 0.8.
  // One sample at 0.5 (bin 7), right: |1 - 0.5| = 0.5. ECE = (0.8 + 0.5) / 3.
  const ece = expectedCalibrationError([0, 1, 2], [row(0, 0.9), row(0, 0.9), row(2, 0.5)]);
  near(ece, 1.3 / 3);
  // Perfect confidence on correct answers is perfectly calibrated.
  near(expectedCalibrationError([3, 6], [row(3, 1), row(6, 1)]), 0);
});

test('computeMetrics rejects mismatched input clearly', () => {
  assert.throws(() => computeMetrics([0], []), /1 labels but 0 probability rows/);
  assert.throws(() => computeMetrics([0], [[1, 0]]), /2 probabilities, expected 7/);
  assert.throws(() => computeMetrics([9], [row(0, 1)]), /label 9 at row 0/);
});

test('thresholdForRecall picks the highest threshold reaching the wanted recall; thresholdStats counts it', async () => {
  const { thresholdForRecall, thresholdStats } = await import('../../core/metrics.ts');
  // Positives score 0.9, 0.6, 0.4, 0.2; negatives 0.7, 0.5, 0.1.
  const pos = [true, false, true, false, true, true, false];
  const s = [0.9, 0.7, 0.6, 0.5, 0.4, 0.2, 0.1];
  assert.equal(thresholdForRecall(pos, s, 0.5), 0.6); // 2 of 4
  assert.equal(thresholdForRecall(pos, s, 0.51), 0.4); // needs 3 of 4
  assert.equal(thresholdForRecall(pos, s, 1), 0.2);
  const st = thresholdStats(pos, s, 0.4);
  near(st.recall, 3 / 4);
  near(st.precision, 3 / 5); // flagged 0.9, 0.7, 0.6, 0.5, 0.4
  near(st.flagged, 5 / 7);
  assert.throws(() => thresholdForRecall([false], [0.3], 0.8), /no positive examples/);
});
