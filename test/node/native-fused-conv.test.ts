// The fused-convolution fast path (trainer/backends/native/fused-conv.ts): Conv2D / DepthwiseConv2D layers as one
// _FusedConv2D / fused depthwise op must give the stock tfjs results (outputs and every gradient within float32
// noise, with ReLU6 saturating at both 0 and 6), leak no tensors, and leave the stock layers in place where the
// binding cannot pass list attributes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../core/tf.ts';
import { buildModel } from '../../core/models.ts';
import { tfjsNodeSkipReason } from './helpers/tfjs-node.ts';
import { assertClose } from './helpers/assert-close.ts';
import { trainingStep, type StepResult } from './helpers/training-step.ts';
import { assertBlock1Saturates, fractionAt, scaleForSaturation } from './helpers/relu6-saturation.ts';

const skip = tfjsNodeSkipReason();
if (skip) console.log(`# native fused-conv tests skipped: ${skip}`);

const { initBackend } = await import('../../trainer/backends/select.ts');
const { installNativeFastPaths, removeNativeFastPaths, ALL_NATIVE_FAST_PATHS } =
  await import('../../trainer/backends/native/fast-kernels.ts');
const { nativeFusedConvAvailable, probeNativeFusedConv, setNativeFusedConvAvailableForTests } =
  await import('../../trainer/backends/native/fused-conv.ts');
const { nativeBackend } = await import('../../trainer/backends/native/tf-ops.ts');

const FUSED_KERNEL = 'DermLensNativeFusedConv';
// Dropout stays stock: a seeded tfjs dropout draws the same mask in both runs.
const FAST = { ...ALL_NATIVE_FAST_PATHS, dropout: false };

function assertSameStep(fast: StepResult, stock: StepResult, expectedGrads: number): void {
  assertClose(fast.output, stock.output, 'training-mode output');
  assert.equal(stock.grads.size, expectedGrads);
  assert.equal(fast.grads.size, stock.grads.size);
  for (const [name, g] of stock.grads) assertClose(fast.grads.get(name)!, g, `gradient of ${name}`, 2e-4);
}

/** Convolutions the fused path covers beyond MobileNetV2's: 'valid' padding, stride 2, depth multiplier 2, relu, linear. */
function variedModel(): tf.LayersModel {
  const init = (n: number) => tf.initializers.heNormal({ seed: n });
  const input = tf.input({ shape: [13, 13, 3] });
  let x = tf.layers
    .conv2d({ filters: 6, kernelSize: 3, strides: 2, padding: 'valid', activation: 'relu6', kernelInitializer: init(1), name: 'c1' })
    .apply(input) as tf.SymbolicTensor;
  x = tf.layers
    .depthwiseConv2d({
      kernelSize: 3,
      depthMultiplier: 2,
      strides: 2,
      padding: 'same',
      activation: 'relu',
      depthwiseInitializer: init(2),
      biasInitializer: tf.initializers.constant({ value: 0.1 }),
      name: 'd1',
    })
    .apply(x) as tf.SymbolicTensor;
  x = tf.layers.conv2d({ filters: 5, kernelSize: 1, kernelInitializer: init(3), name: 'c2' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 7, activation: 'softmax', kernelInitializer: init(4) }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

test('the fused ops run here: the binding takes list attributes (scripts/build-tfjs-node.sh patches it)', { skip }, async () => {
  await initBackend('tensorflow', { nativeFastPaths: false, log: null });
  assert.ok(
    probeNativeFusedConv(nativeBackend()),
    'tfjs-node cannot run _FusedConv2D: rebuild it with `npm run setup:tfjs-node` (it applies scripts/tfjs-node-list-attrs.patch)',
  );
});

test(
  'mobilenetv2: conv + bias + ReLU6 as one fused op, outputs and gradients equal the stock ones with ReLU6 saturating',
  { skip },
  async (t) => {
    await initBackend('tensorflow', { nativeFastPaths: false, log: null });
    if (!nativeFusedConvAvailable(nativeBackend())) return t.skip('fused ops unavailable (see the first test)');
    const model = buildModel('mobilenetv2', { inputSize: 32, seed: 6 });
    // Many ReLU6 units saturate at 6, not only at 0 (checked below): a gradient that ignored the upper bound fails.
    scaleForSaturation(model);
    const x = tf.randomUniform([3, 32, 32, 3], 0, 1, 'float32', 13);
    const y = tf.oneHot(tf.tensor1d([1, 3, 5], 'int32'), 7);
    assertBlock1Saturates(model, x);
    const stock = await trainingStep(model, x, y);
    installNativeFastPaths(FAST);
    const fast = await trainingStep(model, x, y);
    removeNativeFastPaths();
    assert.ok(fast.kernels.has(FUSED_KERNEL) && !stock.kernels.has(FUSED_KERNEL), 'the fused path did not run');
    for (const kernel of ['Conv2D', 'DepthwiseConv2dNative', 'FusedConv2D', 'FusedDepthwiseConv2D', 'Relu6', 'Minimum']) {
      assert.ok(!fast.kernels.has(kernel), `fast step still runs ${kernel}`);
    }
    assertSameStep(fast, stock, 2 * 52 + 2);

    // Inference (predict) takes the fused path too.
    const stockPredict = (model.predict(x) as tf.Tensor).dataSync() as Float32Array;
    installNativeFastPaths(FAST);
    const before = tf.memory().numTensors;
    await trainingStep(model, x, y);
    const fastPredict = model.predict(x) as tf.Tensor;
    assertClose(fastPredict.dataSync() as Float32Array, stockPredict, 'predict output');
    fastPredict.dispose();
    assert.equal(tf.memory().numTensors, before, 'the fused forward / gradient leaked');
    removeNativeFastPaths();
    tf.dispose([x, y]);
    model.dispose();
  },
);

test(
  'valid padding, stride 2, depth multiplier 2, relu and linear; frozen layers and the unneeded input gradient are skipped',
  { skip },
  async (t) => {
    await initBackend('tensorflow', { nativeFastPaths: false, log: null });
    if (!nativeFusedConvAvailable(nativeBackend())) return t.skip('fused ops unavailable (see the first test)');
    const model = variedModel();
    const x = tf.randomUniform([4, 13, 13, 3], -3, 9, 'float32', 21);
    const y = tf.oneHot(tf.tensor1d([0, 2, 4, 6], 'int32'), 7);
    assert.ok(fractionAt(model, 'c1', x, 6) > 0.05 && fractionAt(model, 'c1', x, 0) > 0.05, 'c1 does not saturate at both ends');
    for (const frozen of [null, 'd1']) {
      model.layers.forEach((l) => (l.trainable = l.name !== frozen));
      const stock = await trainingStep(model, x, y);
      installNativeFastPaths(FAST);
      const fast = await trainingStep(model, x, y);
      removeNativeFastPaths();
      assert.ok(fast.kernels.has(FUSED_KERNEL), 'the fused path did not run');
      assertSameStep(fast, stock, frozen == null ? 8 : 6);
    }
    tf.dispose([x, y]);
    model.dispose();
  },
);

test('without list attributes in the binding: the probe says so and the layers run the stock code', { skip }, async () => {
  await initBackend('tensorflow', { nativeFastPaths: false, log: null });
  const real = nativeBackend();
  // What the stock binding does with an array where it expects a string or a type.
  const stockBinding = {
    binding: real.binding,
    executeSingleOutput: (name: string, attrs: { value: unknown }[], inputs: tf.Tensor[]) => {
      if (attrs.some((a) => Array.isArray(a.value) && typeof a.value[0] !== 'number')) throw new Error('Invalid string');
      if (name === '_FusedConv2D') throw new Error('Invalid argument: list(type) expected');
      return real.executeSingleOutput(name, attrs as never, inputs);
    },
    executeMultipleOutputs: real.executeMultipleOutputs.bind(real),
  };
  assert.equal(probeNativeFusedConv(stockBinding), false);

  const model = variedModel();
  const x = tf.randomUniform([2, 13, 13, 3], -3, 9, 'float32', 22);
  const y = tf.oneHot(tf.tensor1d([1, 5], 'int32'), 7);
  const stock = await trainingStep(model, x, y);
  setNativeFusedConvAvailableForTests(false);
  try {
    installNativeFastPaths(FAST);
    const fallback = await trainingStep(model, x, y);
    removeNativeFastPaths();
    assert.ok(!fallback.kernels.has(FUSED_KERNEL), 'the fused path ran although unavailable');
    assert.ok(fallback.kernels.has('Conv2D') && fallback.kernels.has('DepthwiseConv2dNative'), 'the stock convolutions did not run');
    assertSameStep(fallback, stock, 8);
  } finally {
    setNativeFusedConvAvailableForTests(null);
  }
  tf.dispose([x, y]);
  model.dispose();
});
