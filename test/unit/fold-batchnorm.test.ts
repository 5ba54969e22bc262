import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import '@tensorflow/tfjs-backend-cpu';
import { tf } from '../../core/tf.ts';
import { buildModel } from '../../core/models.ts';
import { foldBatchNorm } from '../../core/fold-batchnorm.ts';
import { makeRng } from '../../trainer/data/rng.ts';

before(async () => {
  await tf.setBackend('cpu');
});

/**
 * Gives every BatchNormalization layer statistics far from the fresh defaults (mean 0, variance 1,
 * gamma 1, beta 0), as training does: folding fresh layers would hide a wrong formula.
 */
function randomiseBatchNorm(model: tf.LayersModel, seed: number): void {
  const rng = makeRng(seed);
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    const n = layer.getWeights()[0].size; // the layer's own tensors: read, never dispose
    const values = (lo: number, hi: number) => tf.tensor1d(Array.from({ length: n }, () => lo + (hi - lo) * rng()));
    const next = [values(0.5, 2), values(-0.5, 0.5), values(-1, 1), values(0.2, 3)];
    layer.setWeights(next);
    tf.dispose(next);
  }
}

const countLayers = (model: tf.LayersModel, className: string) => model.layers.filter((l) => l.getClassName() === className).length;

test('compact: every BatchNormalization folds, predictions are unchanged, nothing leaks', async () => {
  const model = buildModel('compact', { inputSize: 48, seed: 3 });
  randomiseBatchNorm(model, 11);
  model.setUserDefinedMetadata({ dermlens: { tta: 'flip' } });
  const x = tf.randomUniform([3, 48, 48, 3], 0, 1, 'float32', 5);
  const before = model.predict(x) as tf.Tensor;

  const tensorsBefore = tf.memory().numTensors;
  const folded = await foldBatchNorm(model);
  assert.notEqual(folded, model);
  assert.equal(countLayers(model, 'BatchNormalization'), 11);
  assert.equal(countLayers(folded, 'BatchNormalization'), 0, "all of compact's BatchNorms follow a linear conv");
  const bnChannels = model.layers.filter((l) => l.getClassName() === 'BatchNormalization').reduce((a, l) => a + l.getWeights()[0].size, 0);
  assert.equal(folded.countParams(), model.countParams() - 3 * bnChannels, 'gamma, beta, mean and variance per channel become one bias');
  assert.deepEqual(folded.getUserDefinedMetadata(), { dermlens: { tta: 'flip' } }, 'metadata travels with the model');

  const after = folded.predict(x) as tf.Tensor;
  const maxAbs = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
  const diff = maxAbs(before, after);
  assert.ok(diff < 1e-5, `folded model differs by ${diff}`);
  assert.ok(tf.tidy(() => maxAbs(before, tf.fill(before.shape, 1 / 7))) > 1e-3, 'the test input gives a non-trivial output');
  // The only new tensors are the folded model's weights.
  const foldedWeightTensors = folded.weights.length;
  tf.dispose([after]);
  assert.equal(tf.memory().numTensors - tensorsBefore, foldedWeightTensors);
  folded.dispose();
  assert.equal(tf.memory().numTensors, tensorsBefore, 'disposing the folded model frees everything folding made');
  tf.dispose([x, before]);
  model.dispose();
});

test('seed: BatchNorm after a ReLU cannot fold; the model comes back as it is', async () => {
  const model = buildModel('seed', { inputSize: 32, seed: 1 });
  const folded = await foldBatchNorm(model);
  assert.equal(folded, model);
  model.dispose();
});
