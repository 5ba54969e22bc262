import { test } from 'node:test';
import assert from 'node:assert/strict';
import { balancedAccuracyOf, bootstrapInterval, recallAtThreshold } from '../../trainer/bootstrap.ts';

test('balanced accuracy and thresholded recall on chosen rows', () => {
  const labels = [0, 0, 1, 1, 1, 2];
  const predicted = [0, 1, 1, 1, 0, 2];
  assert.equal(balancedAccuracyOf(labels, predicted, 3, [0, 1, 2, 3, 4, 5]), (0.5 + 2 / 3 + 1) / 3);
  assert.equal(balancedAccuracyOf(labels, predicted, 3, [0, 0, 5, 2]), 1);
  assert.ok(Number.isNaN(balancedAccuracyOf(labels, predicted, 3, [0, 1])), 'a class with no rows');
  const positive = [true, true, false, true];
  const scores = [0.9, 0.2, 0.95, 0.5];
  assert.equal(recallAtThreshold(positive, scores, 0.5, [0, 1, 2, 3]), 2 / 3);
  assert.equal(recallAtThreshold(positive, scores, 0.5, [1, 1, 3]), 1 / 3);
  assert.ok(Number.isNaN(recallAtThreshold(positive, scores, 0.5, [2])));
});

test('bootstrap interval of a proportion matches the normal approximation and is reproducible', () => {
  // 1000 Bernoulli outcomes with p = 0.3: the 95% interval is about 0.3 +- 1.96 * sqrt(0.21 / 1000) = +-0.028.
  const outcomes = Array.from({ length: 1000 }, (_, i) => (i % 10 < 3 ? 1 : 0));
  const mean = (idx: Uint32Array) => { let s = 0; for (const i of idx) s += outcomes[i]; return s / idx.length; };
  const ci = bootstrapInterval(outcomes.length, mean, { resamples: 2000, seed: 3 });
  assert.ok(ci.low < 0.3 && ci.high > 0.3);
  assert.ok(Math.abs(ci.high - ci.low - 2 * 0.028) < 0.008, `width ${ci.high - ci.low}`);
  assert.deepEqual(bootstrapInterval(outcomes.length, mean, { resamples: 2000, seed: 3 }), ci);
  assert.throws(() => bootstrapInterval(5, () => NaN), /undefined on every resample/);
});
