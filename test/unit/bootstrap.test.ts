import { test } from 'node:test';
import assert from 'node:assert/strict';
import { balancedAccuracyOf, bootstrapInterval, presentClassesBalancedAccuracy } from '../../trainer/evaluate/bootstrap.ts';

test('balanced accuracy on chosen rows', () => {
  const labels = [0, 0, 1, 1, 1, 2];
  const predicted = [0, 1, 1, 1, 0, 2];
  assert.equal(balancedAccuracyOf(labels, predicted, 3, [0, 1, 2, 3, 4, 5]), (0.5 + 2 / 3 + 1) / 3);
  assert.equal(balancedAccuracyOf(labels, predicted, 3, [0, 0, 5, 2]), 1);
  assert.ok(Number.isNaN(balancedAccuracyOf(labels, predicted, 3, [0, 1])), 'a class with no rows');
  // Over the classes present only: rows 0, 1 (class 0, recall 0.5) and 2, 4 (class 1, recall 0.5); class 2 absent.
  assert.equal(presentClassesBalancedAccuracy(labels, predicted, 3, [0, 1, 2, 4]), 0.5);
  assert.equal(presentClassesBalancedAccuracy(labels, predicted, 3, [0, 1, 2, 3, 4, 5]), (0.5 + 2 / 3 + 1) / 3);
  assert.ok(Number.isNaN(presentClassesBalancedAccuracy(labels, predicted, 3, [])), 'no rows at all');
});

test('bootstrap interval of a proportion matches the normal approximation and is reproducible', () => {
  // 1000 Bernoulli outcomes with p = 0.3: the 95% interval is about 0.3 +- 1.96 * sqrt(0.21 / 1000) = +-0.028.
  const outcomes = Array.from({ length: 1000 }, (_, i) => (i % 10 < 3 ? 1 : 0));
  const mean = (idx: Uint32Array) => {
    let s = 0;
    for (const i of idx) s += outcomes[i];
    return s / idx.length;
  };
  const ci = bootstrapInterval(outcomes.length, mean, { resamples: 2000, seed: 3 });
  assert.ok(ci.low < 0.3 && ci.high > 0.3);
  assert.ok(Math.abs(ci.high - ci.low - 2 * 0.028) < 0.008, `width ${ci.high - ci.low}`);
  assert.deepEqual(bootstrapInterval(outcomes.length, mean, { resamples: 2000, seed: 3 }), ci);
  assert.throws(() => bootstrapInterval(5, () => NaN), /undefined on every resample/);
});

test('grouped bootstrap draws whole groups, which widens the interval for correlated rows', () => {
  // 100 lesions of 4 identical images each: only 100 independent outcomes, not 400.
  const outcomes = Array.from({ length: 400 }, (_, i) => (Math.floor(i / 4) % 10 < 3 ? 1 : 0));
  const groups = Array.from({ length: 400 }, (_, i) => `lesion${Math.floor(i / 4)}`);
  const mean = (idx: Uint32Array) => {
    let s = 0;
    for (const i of idx) s += outcomes[i];
    return s / idx.length;
  };
  const sizes = new Set<number>();
  const grouped = bootstrapInterval(
    400,
    (idx) => {
      sizes.add(idx.length);
      // Every drawn lesion comes with all four of its images.
      for (let k = 0; k < idx.length; k += 4) assert.equal(groups[idx[k]], groups[idx[k + 3]]);
      return mean(idx);
    },
    { resamples: 1000, seed: 4, groups },
  );
  const naive = bootstrapInterval(400, mean, { resamples: 1000, seed: 4 });
  assert.deepEqual([...sizes], [400]);
  const width = (ci: { low: number; high: number }) => ci.high - ci.low;
  // Width scales with 1/sqrt(independent samples): about 2x wider for 100 lesions than 400 images.
  assert.ok(width(grouped) > 1.6 * width(naive), `grouped ${width(grouped)} vs naive ${width(naive)}`);
  assert.throws(() => bootstrapInterval(3, mean, { groups: ['a'] }), /1 group ids for 3 rows/);
});
