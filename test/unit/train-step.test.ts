// The custom training step must train exactly like model.fit: same loss, same gradients, and the same
// BatchNormalization moving statistics (tfjs-layers updates them inside BatchNormalization.call()).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import '@tensorflow/tfjs-backend-cpu';
import { tf } from '../../core/tf.ts';
import { reseedDropout, trainStep } from '../../trainer/train/step.ts';

await tf.setBackend('cpu');

// No conv bias: before BatchNorm its true gradient is 0, and Adam would blow float noise up to full-size
// steps that differ between any two implementations.
function smallModel(dropout = 0): tf.LayersModel {
  const m = tf.sequential();
  m.add(
    tf.layers.conv2d({
      inputShape: [8, 8, 3],
      filters: 4,
      kernelSize: 3,
      padding: 'same',
      useBias: false,
      kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
    }),
  );
  m.add(tf.layers.batchNormalization());
  m.add(tf.layers.reLU());
  m.add(tf.layers.flatten());
  if (dropout) m.add(tf.layers.dropout({ rate: dropout, seed: 5 }));
  m.add(tf.layers.dense({ units: 7, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }));
  return m;
}

test('trainStep matches model.fit step for step, BatchNorm moving mean/variance included', async () => {
  const x = tf.randomNormal([24, 8, 8, 3], 0.5, 1, 'float32', 11) as tf.Tensor4D;
  const y = tf.cast(
    tf.oneHot(
      tf.tensor1d(
        Array.from({ length: 24 }, (_, i) => (i * 5) % 7),
        'int32',
      ),
      7,
    ),
    'float32',
  ) as tf.Tensor2D;

  const viaFit = smallModel();
  viaFit.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy' });
  const history = await viaFit.fit(x, y, { batchSize: 8, epochs: 1, shuffle: false, verbose: 0 });

  const custom = smallModel();
  const optimizer = tf.train.adam(0.01);
  const varList = custom.trainableWeights.map((w) => w.read() as tf.Variable);
  const before = tf.memory().numTensors;
  const losses: number[] = [];
  for (let b = 0; b < 3; b++) {
    const xb = tf.slice(x, [b * 8, 0, 0, 0], [8, -1, -1, -1]);
    const yb = tf.slice(y, [b * 8, 0], [8, -1]);
    const loss = trainStep(custom, optimizer, varList, xb, yb, {});
    losses.push(loss.dataSync()[0]);
    tf.dispose([loss, xb, yb]);
  }
  // Adam creates its two moment slots per variable on the first step; nothing else may remain.
  assert.equal(tf.memory().numTensors - before, 2 * varList.length);
  const fitLoss = history.history.loss[0] as number;
  assert.ok(Math.abs(losses.reduce((a, b) => a + b) / 3 - fitLoss) < 1e-5, `mean loss ${losses} vs fit ${fitLoss}`);

  const names = custom.weights.map((w) => w.originalName);
  assert.ok(names.some((n) => n.includes('moving_mean')) && names.some((n) => n.includes('moving_variance')));
  const a = viaFit.getWeights();
  const b = custom.getWeights();
  b.forEach((w, i) => {
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(w, a[i]))).dataSync()[0]);
    assert.ok(diff < 1e-5, `${names[i]} differs from model.fit by ${diff}`);
  });
  const movingMean = b[names.findIndex((n) => n.includes('moving_mean'))].dataSync();
  assert.ok(
    movingMean.some((v) => Math.abs(v) > 1e-4),
    'moving mean actually moved',
  );
  tf.dispose([x, y]);
  viaFit.dispose();
  custom.dispose();
  optimizer.dispose();
});

test('reseedDropout: masks change from step to step, replay for the same step, inference is untouched', () => {
  const m = smallModel(0.5);
  const x = tf.randomNormal([4, 8, 8, 3], 0, 1, 'float32', 3);
  const run = (step: number) => {
    reseedDropout(m, 42, step);
    return tf.tidy(() => (m.apply(x, { training: true }) as tf.Tensor).dataSync());
  };
  const s1 = run(1);
  const s2 = run(2);
  const s1again = run(1);
  assert.deepEqual(s1again, s1);
  assert.notDeepEqual(s2, s1);
  const i1 = tf.tidy(() => (m.apply(x, { training: false }) as tf.Tensor).dataSync());
  reseedDropout(m, 42, 7);
  const i2 = tf.tidy(() => (m.apply(x, { training: false }) as tf.Tensor).dataSync());
  assert.deepEqual(i2, i1);
  x.dispose();
  m.dispose();
});
