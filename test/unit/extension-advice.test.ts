import { test } from 'node:test';
import assert from 'node:assert/strict';
import { adviceFor } from '../../extension/shared/advice.ts';
import { toClassificationResult } from '../../extension/shared/result.ts';

const details = {
  ms: 5,
  timings: { fetchMs: 1, decodeMs: 1, preprocessMs: 1, inferenceMs: 2 },
  modelVersion: 'v',
  untrained: false,
  width: 4,
  height: 3,
};
const resultOf = (probabilities: number[], melanomaThreshold: number | null = 0.27) =>
  toClassificationResult(probabilities, { ...details, melanomaThreshold });

test('a melanoma alert asks for a doctor soon, even with another type on top', () => {
  const advice = adviceFor(resultOf([0.05, 0.05, 0.05, 0.02, 0.3, 0.5, 0.03]));
  assert.equal(advice.kind, 'melanoma');
  assert.match(advice.headline, /doctor soon/);
  assert.match(advice.text, /Melanoma cannot be ruled out: the model gives it 30 %.*27 %/);
});

test('melanoma on top without a stored alert level still gets the melanoma advice', () => {
  assert.equal(adviceFor(resultOf([0.05, 0.05, 0.05, 0.02, 0.6, 0.2, 0.03], null)).kind, 'melanoma');
});

test('basal cell carcinoma on top is called a cancer that needs a doctor', () => {
  const advice = adviceFor(resultOf([0.1, 0.6, 0.1, 0.05, 0.05, 0.05, 0.05]));
  assert.equal(advice.kind, 'cancer');
  assert.match(advice.text, /basal cell carcinoma: a common, slow-growing skin cancer/);
});

test('akiec on top (58 %, cancer and pre-cancer 90 %) is pre-cancerous: not cancer, but see a doctor', () => {
  const result = resultOf([0.58, 0.2, 0.05, 0.03, 0.12, 0.01, 0.01]);
  assert.ok(Math.abs(result.concerningProbability - 0.9) < 1e-9);
  const advice = adviceFor(result);
  assert.equal(advice.kind, 'precancer');
  assert.match(advice.headline, /doctor/);
  assert.match(advice.text, /not cancer, but it can turn into one/);
});

test('a benign top class is called most likely harmless, with when to see a doctor; a strong mixed signal says so', () => {
  const calm = adviceFor(resultOf([0.02, 0.03, 0.05, 0.02, 0.1, 0.75, 0.03]));
  assert.equal(calm.kind, 'benign');
  assert.equal(calm.headline, 'Most likely harmless: a common mole');
  assert.match(calm.text, /new, growing, changing/);
  const mixed = adviceFor(resultOf([0.2, 0.2, 0.05, 0.02, 0.05, 0.45, 0.03]));
  assert.equal(mixed.kind, 'benign');
  assert.match(mixed.text, /cancer and pre-cancer types together get 45 %/);
});
