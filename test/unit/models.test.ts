import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import '@tensorflow/tfjs-backend-cpu';
import { tf } from '../../core/tf.ts';
import { buildModel } from '../../core/models.ts';

before(async () => {
  await tf.setBackend('cpu');
});

test('seed is the original Keras CNN: 4,294,599 parameters at 64 px, layer for layer', () => {
  const model = buildModel('seed', { inputSize: 64 });
  assert.equal(model.countParams(), 4_294_599);
  assert.deepEqual(
    model.layers.map((l) => l.getClassName()),
    [
      'Conv2D',
      'BatchNormalization',
      'MaxPooling2D',
      'Dropout',
      'Conv2D',
      'BatchNormalization',
      'MaxPooling2D',
      'Dropout',
      'Conv2D',
      'BatchNormalization',
      'MaxPooling2D',
      'Dropout',
      'Flatten',
      'Dense',
      'BatchNormalization',
      'Dropout',
      'Dense',
    ],
  );
  assert.deepEqual(model.outputs[0].shape, [null, 7]);
  model.dispose();
});

test('compact stays small and takes any input size', () => {
  for (const size of [64, 96, 128]) {
    const model = buildModel('compact', { inputSize: size });
    assert.ok(model.countParams() < 300_000, `${model.countParams()} params`);
    const y = tf.tidy(() => tf.sum(model.predict(tf.zeros([1, size, size, 3])) as tf.Tensor).dataSync()[0]);
    assert.ok(Math.abs(y - 1) < 1e-5);
    model.dispose();
  }
});

test('same seed, same weights; unknown architecture is a clear error', () => {
  const a = buildModel('compact', { inputSize: 32, seed: 7 });
  const b = buildModel('compact', { inputSize: 32, seed: 7 });
  assert.deepEqual(a.getWeights()[0].dataSync(), b.getWeights()[0].dataSync());
  assert.throws(() => buildModel('resnet9000', { inputSize: 64 }), /Unknown architecture "resnet9000". Known: seed, compact/);
  assert.throws(() => buildModel('seed', { inputSize: 8 }), /Input size must be an integer >= 16/);
  a.dispose();
  b.dispose();
});
