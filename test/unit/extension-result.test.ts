import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatPercent, probabilitiesInClassOrder, toClassificationResult } from '../../extension/shared/result.ts';

const details = {
  melanomaThreshold: null,
  ms: 5,
  timings: { fetchMs: 1, decodeMs: 1, preprocessMs: 1, inferenceMs: 2 },
  modelVersion: 'v',
  untrained: false,
  width: 4,
  height: 3,
};

test('sorts most likely first, sums the cancer and pre-cancer types, keeps CLASS_CODES order for the mirror', () => {
  const probabilities = [0.05, 0.1, 0.15, 0.02, 0.3, 0.35, 0.03];
  const result = toClassificationResult(probabilities, details);
  assert.deepEqual(
    result.predictions.map((p) => p.code),
    ['nv', 'mel', 'bkl', 'bcc', 'akiec', 'vasc', 'df'],
  );
  assert.equal(result.top, 'nv');
  assert.ok(Math.abs(result.concerningProbability - 0.45) < 1e-12);
  assert.deepEqual(probabilitiesInClassOrder(result), probabilities);
  assert.throws(() => toClassificationResult([], details), /Expected 7 class probabilities, got 0/);
});

test('melanoma alert when P(mel) reaches the model threshold, even if another class is on top', () => {
  const probabilities = [0.05, 0.1, 0.15, 0.02, 0.3, 0.35, 0.03];
  const alert = toClassificationResult(probabilities, { ...details, melanomaThreshold: 0.27 });
  assert.equal(alert.top, 'nv');
  assert.equal(alert.melanomaAlert, true);
  assert.equal(alert.melanomaThreshold, 0.27);
  assert.equal(toClassificationResult(probabilities, { ...details, melanomaThreshold: 0.31 }).melanomaAlert, false);
  assert.equal(toClassificationResult(probabilities, details).melanomaAlert, false);
});

test('percentages: one decimal under 10 %, none above, tiny values visible', () => {
  assert.deepEqual([0.6234, 0.1, 0.0567, 0.0004, 0, 1].map(formatPercent), ['62 %', '10 %', '5.7 %', '<0.1 %', '0.0 %', '100 %']);
});
