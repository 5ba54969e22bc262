import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import '@tensorflow/tfjs-backend-cpu';
import { tf } from '../../core/tf.ts';
import { buildModel } from '../../core/models.ts';
import { copyWeights, emaDecayAt, updateAverage } from '../../trainer/train/ema.ts';

before(async () => {
  await tf.setBackend('cpu');
});

test('emaDecayAt: warms up from 0.1 and is capped at the configured decay', () => {
  assert.equal(emaDecayAt(0.999, 0), 0.1);
  assert.equal(emaDecayAt(0.999, 10), 11 / 20);
  assert.equal(emaDecayAt(0.999, 100_000), 0.999);
  assert.equal(emaDecayAt(0.5, 20), 0.5);
  // Monotone non-decreasing: the average forgets more slowly as training goes on.
  for (let s = 0; s < 2000; s++) assert.ok(emaDecayAt(0.999, s + 1) >= emaDecayAt(0.999, s));
});

test('updateAverage: every weight, BatchNorm statistics included, moves to decay*avg + (1-decay)*current; nothing leaks', () => {
  const trained = buildModel('compact', { inputSize: 32, seed: 1 });
  const average = buildModel('compact', { inputSize: 32, seed: 2 });
  // Non-trivial values everywhere, so a skipped weight or swapped coefficients cannot pass.
  trained.setWeights(trained.weights.map((w, i) => tf.randomUniform(w.shape as number[], -1, 1, 'float32', 100 + i)));
  average.setWeights(average.weights.map((w, i) => tf.randomUniform(w.shape as number[], -1, 1, 'float32', 500 + i)));
  const a0 = average.getWeights().map((w) => w.dataSync().slice());
  const t0 = trained.getWeights().map((w) => w.dataSync().slice());
  assert.ok(average.weights.length > trained.trainableWeights.length, 'the model has non-trainable BatchNorm statistics');

  const tensorsBefore = tf.memory().numTensors;
  updateAverage(average, trained, 0.75);
  assert.equal(tf.memory().numTensors, tensorsBefore, 'no tensors leak');

  const a1 = average.getWeights().map((w) => w.dataSync());
  a1.forEach((values, i) => {
    for (let j = 0; j < values.length; j += Math.max(1, Math.floor(values.length / 50))) {
      assert.ok(Math.abs(values[j] - (0.75 * a0[i][j] + 0.25 * t0[i][j])) < 1e-6, `weight ${i}[${j}]`);
    }
  });
  // The trained model is only read.
  trained.getWeights().forEach((w, i) => assert.deepEqual(w.dataSync(), t0[i]));

  copyWeights(average, trained);
  average.getWeights().forEach((w, i) => assert.deepEqual(w.dataSync(), t0[i]));
  trained.dispose();
  average.dispose();
});

test('updateAverage refuses models of different shapes', () => {
  const a = buildModel('compact', { inputSize: 32, seed: 1 });
  const b = buildModel('seed', { inputSize: 32, seed: 1 });
  assert.throws(() => updateAverage(a, b, 0.9), /different weights/);
  a.dispose();
  b.dispose();
});
