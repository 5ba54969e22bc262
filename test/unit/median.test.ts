import { test } from 'node:test';
import assert from 'node:assert/strict';
import { median } from '../../trainer/evaluate/median.ts';

test('median: middle value, mean of the middle two for an even count, input left unsorted', () => {
  const values = [18.2, 13.9, 14.1];
  assert.equal(median(values), 14.1);
  assert.deepEqual(values, [18.2, 13.9, 14.1]);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([7]), 7);
});
