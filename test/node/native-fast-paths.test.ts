// The tfjs-node fast paths (trainer/backends/native/) must give the stock tfjs results: same outputs, gradients
// and moving statistics within float32 noise, no leaked tensors, and no change at all on other backends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../core/tf.ts';
import { buildModel } from '../../core/models.ts';
import { tfjsNodeSkipReason } from './helpers/tfjs-node.ts';
import { assertClose } from './helpers/assert-close.ts';
import { trainingStep } from './helpers/training-step.ts';
import { assertBlock1Saturates, scaleForSaturation } from './helpers/relu6-saturation.ts';

const skip = tfjsNodeSkipReason();
if (skip) console.log(`# native fast-path tests skipped: ${skip}`);

// Imported lazily: the tests below only run where tfjs-node is installed.
const { initBackend } = await import('../../trainer/backends/select.ts');
const { installNativeFastPaths, removeNativeFastPaths, ALL_NATIVE_FAST_PATHS } =
  await import('../../trainer/backends/native/fast-kernels.ts');

/** Covers every fast path: conv with fused relu, a separate ReLU layer, rank-4 and rank-2 batch norm, dense with fused relu. */
function smallModel(): tf.LayersModel {
  const seed = (n: number) => tf.initializers.glorotUniform({ seed: n });
  const model = tf.sequential();
  model.add(
    tf.layers.conv2d({
      inputShape: [12, 12, 3],
      filters: 8,
      kernelSize: 3,
      padding: 'same',
      activation: 'relu',
      kernelInitializer: seed(1),
    }),
  );
  model.add(tf.layers.batchNormalization({ momentum: 0.9 }));
  model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  model.add(tf.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same', kernelInitializer: seed(2) }));
  model.add(tf.layers.reLU());
  model.add(tf.layers.batchNormalization());
  model.add(tf.layers.flatten());
  model.add(tf.layers.dense({ units: 16, activation: 'relu', kernelInitializer: seed(3) }));
  model.add(tf.layers.batchNormalization({ momentum: 0.8 }));
  model.add(tf.layers.dense({ units: 7, activation: 'softmax', kernelInitializer: seed(4) }));
  return model;
}

function batch(n = 6): { x: tf.Tensor4D; y: tf.Tensor2D } {
  const x = tf.randomNormal([n, 12, 12, 3], 0.3, 1.5, 'float32', 11) as tf.Tensor4D;
  const y = tf.oneHot(
    tf.tensor1d(
      Array.from({ length: n }, (_, i) => (i * 3) % 7),
      'int32',
    ),
    7,
  ) as tf.Tensor2D;
  return { x, y };
}

test('training step: outputs, gradients and moving statistics equal the stock tfjs ones', { skip }, async () => {
  await initBackend('tensorflow', { nativeFastPaths: false, log: null });
  const model = smallModel();
  const { x, y } = batch();
  const stock = await trainingStep(model, x, y);
  installNativeFastPaths();
  const fast = await trainingStep(model, x, y);
  removeNativeFastPaths();

  // The fast paths really ran: no JS-built Step for the ReLU gradient, no decomposed batch norm,
  // conv and dense split out of tfjs' fused ops.
  for (const kernel of ['Step', 'FusedBatchNorm', 'FusedConv2D', '_FusedMatMul']) {
    assert.ok(stock.kernels.has(kernel), `stock step lacks ${kernel}: ${[...stock.kernels].join()}`);
    assert.ok(!fast.kernels.has(kernel), `fast step still runs ${kernel}: ${[...fast.kernels].join()}`);
  }

  assert.ok(Math.abs(fast.loss - stock.loss) <= 1e-5 * Math.abs(stock.loss), `loss ${fast.loss} vs ${stock.loss}`);
  assertClose(fast.output, stock.output, 'training-mode output');
  assert.equal(fast.grads.size, 14);
  for (const [name, g] of stock.grads) assertClose(fast.grads.get(name)!, g, `gradient of ${name}`, 2e-4);
  assert.equal(fast.moving.size, 6);
  for (const [name, m] of stock.moving) assertClose(fast.moving.get(name)!, m, name);
  tf.dispose([x, y]);
  model.dispose();
});

test('compact architecture (separable convs, ReLU layers, residual adds): gradients equal the stock ones', { skip }, async () => {
  await initBackend('tensorflow', { nativeFastPaths: false, log: null });
  const model = buildModel('compact', { inputSize: 32, seed: 5 });
  const x = tf.randomUniform([4, 32, 32, 3], 0, 1, 'float32', 12);
  const y = tf.oneHot(tf.tensor1d([0, 2, 4, 6], 'int32'), 7);
  const stock = await trainingStep(model, x, y);
  // Dropout stays stock here: a seeded tfjs dropout draws the same mask in both runs.
  installNativeFastPaths({ ...ALL_NATIVE_FAST_PATHS, dropout: false });
  const fast = await trainingStep(model, x, y);
  removeNativeFastPaths();
  assert.ok(stock.kernels.has('Step') && !fast.kernels.has('Step'), 'the ReLU gradient did not take the native path');
  assertClose(fast.output, stock.output, 'training-mode output');
  assert.equal(fast.grads.size, stock.grads.size);
  for (const [name, g] of stock.grads) assertClose(fast.grads.get(name)!, g, `gradient of ${name}`, 2e-4);
  for (const [name, m] of stock.moving) assertClose(fast.moving.get(name)!, m, name);
  tf.dispose([x, y]);
  model.dispose();
});

test(
  'mobilenetv2 (ReLU6 convs and depthwise convs, residual adds): ReLU6 runs as TF Relu6/Relu6Grad, gradients equal the stock ones',
  { skip },
  async () => {
    await initBackend('tensorflow', { nativeFastPaths: false, log: null });
    const model = buildModel('mobilenetv2', { inputSize: 32, seed: 6 });
    // Many ReLU6 units saturate at 6, not only at 0 (checked): a gradient that ignored the upper bound
    // (ReluGrad) fails this test. (Doubling the kernels alone, as this test did, left none at 6.)
    scaleForSaturation(model);
    const x = tf.randomUniform([3, 32, 32, 3], 0, 1, 'float32', 13);
    assertBlock1Saturates(model, x);
    const y = tf.oneHot(tf.tensor1d([1, 3, 5], 'int32'), 7);
    const stock = await trainingStep(model, x, y);
    // The fused convolutions (test/node/native-fused-conv.test.ts) would take ReLU6 into the conv op.
    const paths = { ...ALL_NATIVE_FAST_PATHS, dropout: false, fusedConv: false };
    installNativeFastPaths(paths);
    const fast = await trainingStep(model, x, y);
    removeNativeFastPaths();
    // Stock: ReLU6 is min(6, relu(x)) after a fused conv; fast: TF's Relu6 after a split conv.
    for (const kernel of ['Minimum', 'FusedConv2D']) {
      assert.ok(stock.kernels.has(kernel), `stock step lacks ${kernel}`);
      assert.ok(!fast.kernels.has(kernel), `fast step still runs ${kernel}`);
    }
    assert.ok(fast.kernels.has('Relu6') && !stock.kernels.has('Relu6'), 'ReLU6 did not take the native path');
    assertClose(fast.output, stock.output, 'training-mode output');
    assert.equal(fast.grads.size, stock.grads.size);
    assert.equal(fast.grads.size, 2 * 52 + 2);
    for (const [name, g] of stock.grads) assertClose(fast.grads.get(name)!, g, `gradient of ${name}`, 2e-4);
    // And no tensor is left behind by the native forward and gradient.
    installNativeFastPaths(paths);
    const before = tf.memory().numTensors;
    await trainingStep(model, x, y);
    assert.equal(tf.memory().numTensors, before, 'forward/backward with native ReLU6 leaked');
    removeNativeFastPaths();
    tf.dispose([x, y]);
    model.dispose();
  },
);

test('inference: batch norm as x*a+b equals the stock kernel with non-trivial moving statistics', { skip }, async () => {
  await initBackend('tensorflow', { nativeFastPaths: false, log: null });
  const model = smallModel();
  model.weights
    .filter((w) => w.name.includes('moving_'))
    .forEach((w, i) => {
      const isVariance = w.name.includes('variance');
      w.write(tf.randomUniform(w.shape as number[], isVariance ? 0.2 : -1, isVariance ? 3 : 1, 'float32', 40 + i));
    });
  const { x, y } = batch();
  const stock = (model.predict(x) as tf.Tensor).dataSync() as Float32Array;
  installNativeFastPaths({ batchNormInference: true });
  const kernel = tf.getKernel('FusedBatchNorm', 'tensorflow');
  const fast = (model.predict(x) as tf.Tensor).dataSync() as Float32Array;
  removeNativeFastPaths();
  assert.notEqual(tf.getKernel('FusedBatchNorm', 'tensorflow'), kernel, 'the x*a+b kernel was not the one installed');
  assertClose(fast, stock, 'predict output');
  tf.dispose([x, y]);
  model.dispose();
});

test('moving variance is updated with the biased batch variance, as tfjs-layers does', { skip }, async () => {
  await initBackend('tensorflow', { log: null });
  const layer = tf.layers.batchNormalization({ momentum: 0.5, inputShape: [1, 2, 2] });
  const model = tf.sequential({ layers: [layer] });
  // Shape [4, 1, 2, 2]: 8 values per channel; channel 0 holds 1..8, channel 1 their squares.
  const values = [
    [1, 1],
    [2, 4],
    [3, 9],
    [4, 16],
    [5, 25],
    [6, 36],
    [7, 49],
    [8, 64],
  ];
  const x = tf.tensor4d(values.flat(), [4, 1, 2, 2]);
  tf.dispose(model.apply(x, { training: true }) as tf.Tensor);
  const [, , movingMean, movingVar] = layer.getWeights().map((w) => Array.from(w.dataSync()));
  for (let c = 0; c < 2; c++) {
    const column = values.map((v) => v[c]);
    const mean = column.reduce((a, b) => a + b, 0) / column.length;
    const biasedVar = column.reduce((a, b) => a + (b - mean) ** 2, 0) / column.length;
    assert.ok(Math.abs(movingMean[c] - (0 - (0 - mean) * 0.5)) < 1e-4 * mean, `moving mean ${c}: ${movingMean[c]}`);
    const expectedVar = 1 - (1 - biasedVar) * 0.5;
    assert.ok(Math.abs(movingVar[c] - expectedVar) < 1e-5 * expectedVar, `moving variance ${c}: ${movingVar[c]} vs ${expectedVar}`);
  }
  tf.dispose(x);
  model.dispose();
});

test('no tensors leak: training steps with fit-style trainOnBatch and with variableGrads', { skip }, async () => {
  await initBackend('tensorflow', { log: null });
  const model = smallModel();
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy' });
  const { x, y } = batch();
  await model.trainOnBatch(x, y); // creates the optimizer state
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) await model.trainOnBatch(x, y);
  assert.equal(tf.memory().numTensors, before, 'trainOnBatch leaked');
  await trainingStep(model, x, y);
  assert.equal(tf.memory().numTensors, before, 'forward/backward leaked');
  tf.dispose(model.predict(x));
  assert.equal(tf.memory().numTensors, before, 'predict leaked');
  tf.dispose([x, y]);
  model.dispose();
});

test('on another backend the installed fast paths change nothing (bitwise)', { skip }, async () => {
  await initBackend('cpu', { allowCpuForTraining: true, log: null });
  const model = smallModel();
  const { x, y } = batch(3);
  installNativeFastPaths();
  const withPaths = await trainingStep(model, x, y);
  removeNativeFastPaths();
  const stock = await trainingStep(model, x, y);
  assert.deepEqual(withPaths.output, stock.output);
  for (const [name, g] of stock.grads) assert.deepEqual(withPaths.grads.get(name), g, name);
  for (const [name, m] of stock.moving) assert.deepEqual(withPaths.moving.get(name), m, name);
  tf.dispose([x, y]);
  model.dispose();
});

test('dropout: TF-drawn mask with tf.dropout semantics (scaling, rate, seeded = fixed mask) and its gradient', { skip }, async () => {
  await initBackend('tensorflow', { log: null });
  const rate = 0.25;
  const x = tf.randomUniform([16, 16, 16, 8], 0.5, 2, 'float32', 5); // no zeros, so zeros in the output are drops
  const maskOf = (layer: tf.layers.Layer, fast: boolean): { values: Float32Array; kept: Uint8Array } => {
    if (fast) installNativeFastPaths();
    else removeNativeFastPaths();
    const out = tf.tidy(() => layer.apply(x, { training: true }) as tf.Tensor);
    const values = out.dataSync() as Float32Array;
    out.dispose();
    return { values, kept: values.map((v) => (v !== 0 ? 1 : 0)) as unknown as Uint8Array };
  };
  const xs = x.dataSync();
  const n = xs.length;
  const seededMasks: Uint8Array[] = [];
  for (const fast of [false, true]) {
    const seeded = tf.layers.dropout({ rate, seed: 7 });
    const a = maskOf(seeded, fast);
    const b = maskOf(seeded, fast);
    let kept = 0;
    for (let i = 0; i < n; i++) {
      if (a.kept[i]) {
        kept++;
        assert.ok(Math.abs(a.values[i] - xs[i] / (1 - rate)) <= 1e-6 * xs[i], `kept value ${i} not scaled by 1/keep`);
      }
    }
    // Binomial(n, 0.75): 5 standard deviations is ~0.014 of n = 32768.
    assert.ok(
      Math.abs(kept / n - (1 - rate)) < 5 * Math.sqrt((rate * (1 - rate)) / n),
      `kept fraction ${kept / n} (${fast ? 'fast' : 'stock'})`,
    );
    assert.deepEqual(b.kept, a.kept, `a seeded layer keeps one mask in tfjs (${fast ? 'fast' : 'stock'})`);
    seededMasks.push(a.kept);
    const unseeded = tf.layers.dropout({ rate });
    const c = maskOf(unseeded, fast);
    const d = maskOf(unseeded, fast);
    assert.notDeepEqual(d.kept, c.kept, `an unseeded layer draws a new mask per call (${fast ? 'fast' : 'stock'})`);
  }

  // TF's generator, not tfjs' JS one, drew the fast mask.
  assert.notDeepEqual(seededMasks[1], seededMasks[0], 'the fast path did not run: same mask as tfjs for the same seed');

  // Gradient: d/dx sum(dropout(x) * w) = w * multiplier, where multiplier = output / x.
  installNativeFastPaths();
  const layer = tf.layers.dropout({ rate, seed: 9 });
  const w = tf.randomNormal(x.shape, 0, 1, 'float32', 6);
  const before = tf.memory().numTensors;
  const { value, grads } = tf.tidy(() => {
    const xv = tf.variable(x, true, 'dropout_x');
    const res = tf.variableGrads(() => tf.sum(tf.mul(layer.apply(xv, { training: true }) as tf.Tensor, w)) as tf.Scalar, [xv]);
    const out = layer.apply(xv, { training: true }) as tf.Tensor; // same mask (seeded)
    const expected = tf.mul(w, tf.div(out, xv));
    const result = { value: tf.keep(expected), grads: tf.keep(res.grads[xv.name]) };
    tf.dispose([res.value, xv]);
    return result;
  });
  assertClose(grads.dataSync() as Float32Array, value.dataSync() as Float32Array, 'dropout gradient', 1e-6);
  tf.dispose([value, grads]);
  assert.equal(tf.memory().numTensors, before, 'dropout leaked');
  removeNativeFastPaths();
  tf.dispose([x, w]);
});

test('Adam through ResourceApplyAdam: same weights and optimizer state as stock Adam', { skip }, async () => {
  await initBackend('tensorflow', { log: null });
  const model = smallModel();
  const initial = model.getWeights().map((w) => w.clone());
  // Fixed gradients, so both runs see the same inputs at every step and only the update math differs.
  const grads: tf.NamedTensorMap = {};
  model.trainableWeights.forEach((w, i) => {
    grads[(w.read() as tf.Variable).name] = tf.randomNormal(w.shape as number[], 0, 0.05, 'float32', 70 + i);
  });
  const run = async (nativeAdam: boolean) => {
    installNativeFastPaths({ ...ALL_NATIVE_FAST_PATHS, adam: nativeAdam });
    model.setWeights(initial);
    const optimizer = tf.train.adam(0.01);
    for (let i = 0; i < 4; i++) optimizer.applyGradients(grads as Parameters<tf.AdamOptimizer['applyGradients']>[0]);
    const weights = model.trainableWeights.map((w) => w.read().dataSync() as Float32Array);
    const state = await optimizer.getWeights();
    const stateValues = state.map((s) => ({ name: s.name, values: s.tensor.dataSync() as Float32Array }));
    tf.dispose(state[0].tensor); // the iteration count is a fresh tensor; the rest are the optimizer's variables
    optimizer.dispose();
    return { weights, stateValues };
  };
  const stock = await run(false);
  const fast = await run(true);
  removeNativeFastPaths();
  stock.weights.forEach((w, i) => assertClose(fast.weights[i], w, `weight ${i} after 4 Adam steps`, 1e-5));
  assert.deepEqual(
    fast.stateValues.map((s) => s.name),
    stock.stateValues.map((s) => s.name),
  );
  stock.stateValues.forEach((s, i) => assertClose(fast.stateValues[i].values, s.values, `optimizer state ${s.name}`, 1e-5));
  const before = initial[0].dataSync();
  assert.ok(
    fast.weights[0].some((v, j) => Math.abs(v - before[j]) > 1e-3),
    'Adam did not move the weights',
  );
  tf.dispose([...initial, ...Object.values(grads)]);
  model.dispose();
});

test('Adam through ResourceApplyAdam in trainOnBatch: no tensors leak per step or after dispose()', { skip }, async () => {
  await initBackend('tensorflow', { log: null });
  const { x, y } = batch();
  const remaining: number[] = [];
  for (const nativeAdam of [false, true]) {
    installNativeFastPaths({ ...ALL_NATIVE_FAST_PATHS, adam: nativeAdam });
    const start = tf.memory().numTensors;
    const model = smallModel();
    const optimizer = tf.train.adam(0.01);
    model.compile({ optimizer, loss: 'categoricalCrossentropy' });
    await model.trainOnBatch(x, y); // creates the optimizer state
    const afterFirstStep = tf.memory().numTensors;
    for (let i = 0; i < 2; i++) await model.trainOnBatch(x, y);
    assert.equal(tf.memory().numTensors, afterFirstStep, `${nativeAdam ? 'native' : 'stock'} Adam step leaked`);
    optimizer.dispose();
    model.dispose();
    remaining.push(tf.memory().numTensors - start);
  }
  removeNativeFastPaths();
  assert.equal(remaining[1], remaining[0], 'native Adam left tensors (its resource variables) after dispose()');
  tf.dispose([x, y]);
});
