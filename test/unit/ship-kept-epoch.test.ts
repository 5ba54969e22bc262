// The model card's "best epoch" is the epoch the run kept, by the run's own --select-on rule: with
// val+external the first epoch with the best mean of the two, not the best validation epoch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bestEpochOf } from '../../trainer/ship/read-run.ts';

const history = [
  { epoch: 1, valBalancedAccuracy: 0.6, extBalancedAccuracy: 0.5 },
  { epoch: 2, valBalancedAccuracy: 0.71, extBalancedAccuracy: 0.52 },
  { epoch: 3, valBalancedAccuracy: 0.7, extBalancedAccuracy: 0.6 },
  { epoch: 4, valBalancedAccuracy: 0.69, extBalancedAccuracy: 0.61 },
];

test('the kept epoch follows --select-on: validation alone, or the first best mean of validation and external', () => {
  assert.equal(bestEpochOf(history), 2);
  assert.equal(bestEpochOf(history, 'val+external'), 3, 'epoch 4 ties epoch 3 on the mean (0.65) and does not replace it');
  assert.throws(
    () =>
      bestEpochOf(
        [
          { epoch: 1, valBalancedAccuracy: 0.6 },
          { epoch: 2, valBalancedAccuracy: 0.7 },
        ],
        'val+external',
      ),
    /needs an external set/,
  );
});
