// core/lesion-result.ts: the one result shape the card, the popup and the CLI show.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CLASS_CODES } from '../../core/labels.ts';
import { lesionResult } from '../../core/lesion-result.ts';

const probs = [0.05, 0.1, 0.15, 0.02, 0.2, 0.45, 0.03]; // akiec bcc bkl df mel nv vasc

test('predictions come most likely first, keep every class, and sum to 1', () => {
  const r = lesionResult(probs, null);
  assert.deepEqual(
    r.predictions.map((p) => p.code),
    ['nv', 'mel', 'bkl', 'bcc', 'akiec', 'vasc', 'df'],
  );
  assert.equal(r.top, 'nv');
  assert.deepEqual([...r.predictions.map((p) => p.code)].sort(), [...CLASS_CODES].sort());
  assert.ok(Math.abs(r.predictions.reduce((s, p) => s + p.probability, 0) - 1) < 1e-12);
  assert.ok(Math.abs(r.concerningProbability - (0.05 + 0.1 + 0.2)) < 1e-12, 'akiec + bcc + mel');
});

test('the melanoma alert fires at the threshold even when another class is more likely', () => {
  assert.equal(lesionResult(probs, 0.2).melanomaAlert, true);
  assert.equal(lesionResult(probs, 0.21).melanomaAlert, false);
  assert.equal(lesionResult(probs, null).melanomaAlert, false);
  assert.equal(lesionResult(probs, 0.2).melanomaThreshold, 0.2);
});

test('anything but seven probabilities is refused', () => {
  assert.throws(() => lesionResult([0.5, 0.5], null), /Expected 7 class probabilities, got 2/);
});
