// The wasm training kernels (trainer/backends/wasm/) against the cpu backend's kernels: same inputs, both
// backends, relative error (max |wasm - cpu| / max |cpu|) at most 1e-4, and no leaked tensors.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import '@tensorflow/tfjs-backend-cpu';
import { tf } from '../../core/tf.ts';
import { buildModel } from '../../core/models.ts';
import { useWasmBackendInNode } from '../../trainer/backends/wasm/node-setup.ts';
import {
  activeWasmTrainingKernels,
  BASELINE_WASM_KERNELS,
  OPTIMIZED_WASM_KERNELS,
  registerWasmTrainingKernels,
  type WasmTrainingKernelOptions,
} from '../../trainer/backends/wasm/register.ts';
import { backpropFilterByConv, backpropFilterByShiftedWindows } from '../../trainer/backends/wasm/conv2d-backprop-filter.ts';
import { makeRng } from '../../trainer/data/rng.ts';

const TOLERANCE = 1e-4;

/** Deterministic pseudo-random values in [-1, 1) (the trainer's seeded PRNG), so both backends see the same data. */
function randomValues(size: number, seed: number): Float32Array {
  const random = makeRng(seed);
  return Float32Array.from({ length: size }, () => random() * 2 - 1);
}

const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  assert.equal(actual.length, expected.length, 'result sizes differ');
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return diff / Math.max(scale, 1e-30);
}

interface Result {
  shape: number[];
  values: Float32Array | Int32Array | Uint8Array;
}

/** Runs `compute` on one backend; checks it leaves no tensor or wasm buffer behind. */
async function runOn(backend: 'wasm' | 'cpu', compute: () => tf.Tensor): Promise<Result> {
  await tf.setBackend(backend);
  const tensorsBefore = tf.memory().numTensors;
  const dataIdsBefore = tf.engine().backend.numDataIds();
  const out = tf.tidy(compute);
  const result = { shape: out.shape, values: out.dataSync() as Result['values'] };
  out.dispose();
  assert.equal(tf.memory().numTensors, tensorsBefore, `${backend}: tensors leaked`);
  assert.equal(tf.engine().backend.numDataIds(), dataIdsBefore, `${backend}: backend buffers leaked`);
  return result;
}

/** Runs `compute` on wasm (with the given kernel switches) and on cpu, and compares. */
async function assertMatchesCpu(
  label: string,
  compute: () => tf.Tensor,
  kernels: Partial<WasmTrainingKernelOptions> | 'optimized' = 'optimized',
): Promise<void> {
  registerWasmTrainingKernels(kernels);
  const wasm = await runOn('wasm', compute);
  const cpu = await runOn('cpu', compute);
  assert.deepEqual(wasm.shape, cpu.shape, `${label}: shape`);
  const err = relativeError(wasm.values, cpu.values);
  assert.ok(err <= TOLERANCE, `${label}: relative error ${err.toExponential(2)} > ${TOLERANCE}`);
  // The check must not pass vacuously on all-zero results.
  assert.ok(
    cpu.values.some((v) => v !== 0),
    `${label}: cpu result is all zeros`,
  );
}

const tensor = (shape: number[], seed: number) => tf.tensor(randomValues(sizeOf(shape), seed), shape);

interface ConvCase {
  x: [number, number, number, number];
  filter: [number, number, number, number];
  strides: number | [number, number];
  pad: 'same' | 'valid' | number;
}

const CONV_CASES: ConvCase[] = [
  { x: [2, 8, 8, 3], filter: [3, 3, 3, 4], strides: 1, pad: 'same' },
  { x: [2, 9, 7, 3], filter: [3, 3, 3, 5], strides: 1, pad: 'valid' },
  { x: [3, 9, 11, 4], filter: [3, 3, 4, 6], strides: 2, pad: 'same' },
  { x: [2, 10, 9, 2], filter: [3, 3, 2, 3], strides: 2, pad: 'valid' },
  { x: [1, 7, 8, 5], filter: [2, 3, 5, 2], strides: [2, 1], pad: 'same' },
  { x: [2, 12, 12, 3], filter: [5, 5, 3, 4], strides: 3, pad: 'valid' },
  { x: [2, 6, 5, 8], filter: [1, 1, 8, 4], strides: 2, pad: 'same' },
  { x: [2, 6, 7, 3], filter: [3, 3, 3, 2], strides: 1, pad: 1 },
];

const convLabel = (c: ConvCase) => `x[${c.x}] f[${c.filter}] s=${c.strides} pad=${c.pad}`;
const outShapeOf = (c: ConvCase) =>
  tf.backend_util.computeConv2DInfo(c.x, c.filter, c.strides, 1, c.pad).outShape as [number, number, number, number];

before(async () => {
  await useWasmBackendInNode();
});

describe('wasm training kernels vs the cpu backend', () => {
  for (const [name, fastBackpropFilter] of [
    ['per-tap matmuls (baseline)', false],
    ['shifted windows / one XNNPACK conv', true],
  ] as const) {
    test(`Conv2DBackpropFilter by ${name}`, async () => {
      for (const c of CONV_CASES) {
        await assertMatchesCpu(
          `Conv2DBackpropFilter ${convLabel(c)}`,
          () =>
            tf.engine().runKernel('Conv2DBackpropFilter', { x: tensor(c.x, 1), dy: tensor(outShapeOf(c), 2) }, {
              strides: c.strides,
              pad: c.pad,
              dataFormat: 'NHWC',
              filterShape: c.filter,
            } as unknown as tf.NamedAttrMap) as tf.Tensor,
          { fastBackpropFilter },
        );
      }
    });
  }

  test('Conv2DBackpropFilter formulations called directly: one conv (any stride), shifted windows (stride 1)', async () => {
    for (const c of CONV_CASES) {
      const attrs = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', filterShape: c.filter } as const;
      const viaCpuKernel = () =>
        tf
          .engine()
          .runKernel(
            'Conv2DBackpropFilter',
            { x: tensor(c.x, 1), dy: tensor(outShapeOf(c), 2) },
            attrs as unknown as tf.NamedAttrMap,
          ) as tf.Tensor;
      const cpu = await runOn('cpu', viaCpuKernel);
      const algorithms: [string, typeof backpropFilterByConv][] = [['byConv', backpropFilterByConv]];
      if (c.strides === 1) algorithms.push(['byShiftedWindows', backpropFilterByShiftedWindows]);
      for (const [name, algorithm] of algorithms) {
        const wasm = await runOn('wasm', () => algorithm(tensor(c.x, 1) as tf.Tensor4D, tensor(outShapeOf(c), 2) as tf.Tensor4D, attrs));
        const err = relativeError(wasm.values, cpu.values);
        assert.ok(err <= TOLERANCE, `${name} ${convLabel(c)}: relative error ${err.toExponential(2)}`);
      }
    }
  });

  test('Conv2DBackpropInput as an XNNPACK conv', async () => {
    for (const c of CONV_CASES) {
      await assertMatchesCpu(
        `Conv2DBackpropInput ${convLabel(c)}`,
        () =>
          tf.engine().runKernel('Conv2DBackpropInput', { dy: tensor(outShapeOf(c), 3), filter: tensor(c.filter, 4) }, {
            strides: c.strides,
            pad: c.pad,
            dataFormat: 'NHWC',
            inputShape: c.x,
          } as unknown as tf.NamedAttrMap) as tf.Tensor,
      );
    }
  });

  test('depthwise conv gradients (missing in tfjs-wasm), channel multiplier 1 and 2', async () => {
    const cases: (ConvCase & { multiplier: number })[] = [
      { x: [2, 8, 8, 3], filter: [3, 3, 3, 1], strides: 1, pad: 'same', multiplier: 1 },
      { x: [2, 9, 7, 4], filter: [3, 3, 4, 2], strides: 1, pad: 'valid', multiplier: 2 },
      { x: [3, 9, 11, 2], filter: [3, 3, 2, 1], strides: 2, pad: 'same', multiplier: 1 },
      { x: [2, 10, 9, 3], filter: [2, 3, 3, 2], strides: [2, 1], pad: 'valid', multiplier: 2 },
    ];
    for (const c of cases) {
      const outShape = outShapeOf(c)
        .slice(0, 3)
        .concat(c.x[3] * c.multiplier);
      const attrs = { strides: c.strides, pad: c.pad, dilations: 1 };
      await assertMatchesCpu(
        `DepthwiseConv2dNativeBackpropInput ${convLabel(c)}`,
        () =>
          tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy: tensor(outShape, 15), filter: tensor(c.filter, 16) }, {
            ...attrs,
            inputShape: c.x,
          } as unknown as tf.NamedAttrMap) as tf.Tensor,
      );
      await assertMatchesCpu(
        `DepthwiseConv2dNativeBackpropFilter ${convLabel(c)}`,
        () =>
          tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x: tensor(c.x, 17), dy: tensor(outShape, 18) }, {
            ...attrs,
            filterShape: c.filter,
          } as unknown as tf.NamedAttrMap) as tf.Tensor,
      );
    }
  });

  test('Tile by heap copies, float32 / int32 / bool, ranks 1 to 5', async () => {
    const cases: [number[], number[]][] = [
      [[5], [3]],
      [
        [1, 1, 1, 6],
        [3, 4, 5, 1],
      ],
      [
        [2, 3],
        [3, 2],
      ],
      [
        [2, 1, 3],
        [1, 4, 2],
      ],
      [
        [2, 2, 1, 3, 1],
        [2, 1, 3, 1, 4],
      ],
    ];
    for (const [shape, reps] of cases) {
      await assertMatchesCpu(`Tile float32 [${shape}] x [${reps}]`, () => tf.tile(tensor(shape, 5), reps));
      await assertMatchesCpu(`Tile int32 [${shape}] x [${reps}]`, () =>
        tf.tile(
          tf.tensor(
            Int32Array.from(randomValues(sizeOf(shape), 6), (v) => Math.round(v * 100) + 1),
            shape,
            'int32',
          ),
          reps,
        ),
      );
      await assertMatchesCpu(`Tile bool [${shape}] x [${reps}]`, () => tf.cast(tf.tile(tf.greater(tensor(shape, 7), 0), reps), 'int32'));
    }
  });

  test('BatchMatMul with transpose flags, rank 2 and 3, and real batches', async () => {
    const cases: [number[], number[], boolean, boolean][] = [
      [[7, 5], [5, 9], false, false],
      [[5, 7], [5, 9], true, false],
      [[7, 5], [9, 5], false, true],
      [[5, 7], [9, 5], true, true],
      [[64, 3], [64, 40], true, false],
      [[3, 40], [200, 40], false, true],
      [[1, 6, 4], [1, 6, 5], true, false],
      [[3, 4, 6], [3, 5, 6], false, true],
    ];
    for (const [a, b, ta, tb] of cases) {
      await assertMatchesCpu(`matMul [${a}]${ta ? 'T' : ''} x [${b}]${tb ? 'T' : ''}`, () => tf.matMul(tensor(a, 8), tensor(b, 9), ta, tb));
    }
  });

  test('Slice copying only the slice, ranks 1 to 5, float32 / int32', async () => {
    const cases: [number[], number[], number[]][] = [
      [[10], [3], [4]],
      [
        [6, 7],
        [1, 2],
        [3, 5],
      ],
      [
        [6, 7],
        [2, 0],
        [3, 7],
      ],
      [
        [4, 5, 6],
        [1, 0, 2],
        [2, 5, 3],
      ],
      [
        [3, 4, 5, 6],
        [1, 1, 0, 0],
        [2, 2, 5, 6],
      ],
      [
        [3, 4, 5, 6],
        [0, 1, 2, 3],
        [3, 3, 3, 3],
      ],
      [
        [2, 3, 2, 3, 4],
        [1, 0, 1, 1, 0],
        [1, 3, 1, 2, 4],
      ],
    ];
    for (const [shape, begin, size] of cases) {
      await assertMatchesCpu(`slice [${shape}] from [${begin}] size [${size}]`, () => tf.slice(tensor(shape, 19), begin, size));
      await assertMatchesCpu(`slice int32 [${shape}] from [${begin}] size [${size}]`, () =>
        tf.slice(
          tf.tensor(
            Int32Array.from(randomValues(sizeOf(shape), 20), (v) => Math.round(v * 50) + 1),
            shape,
            'int32',
          ),
          begin,
          size,
        ),
      );
    }
  });

  test('Sum and Mean over leading axes (and other axes, delegated)', async () => {
    const cases: [number[], number[], boolean][] = [
      [[4, 5, 6, 3], [0, 1, 2], false],
      [[4, 5, 6, 3], [0, 1, 2], true],
      [[7, 9], [0], false],
      [[3, 4, 5], [1, 0], true],
      [[3, 4, 5], [2], false],
      [[3, 4, 5], [0, 2], false],
      [[3, 4, 5], [0, 1, 2], false],
    ];
    for (const [shape, axes, keepDims] of cases) {
      await assertMatchesCpu(`sum [${shape}] axes ${axes} keepDims=${keepDims}`, () => tf.sum(tensor(shape, 10), axes, keepDims));
      await assertMatchesCpu(`mean [${shape}] axes ${axes} keepDims=${keepDims}`, () => tf.mean(tensor(shape, 11), axes, keepDims));
    }
  });

  test('MaxPoolGrad sends the gradient to the first maximum on ties, like cpu', async () => {
    const cases: [number[], number, number, 'same' | 'valid'][] = [
      [[2, 8, 8, 3], 2, 2, 'valid'],
      [[2, 9, 7, 4], 2, 2, 'same'],
      [[1, 9, 9, 2], 3, 2, 'same'],
      [[2, 7, 8, 3], 3, 1, 'valid'],
    ];
    for (const [shape, size, stride, pad] of cases) {
      // relu of rounded values: many equal maxima (zeros), as after a ReLU layer.
      const input = () => tf.relu(tf.round(tf.mul(tensor(shape, 12), 2)));
      await assertMatchesCpu(`maxPool grad [${shape}] ${size}x${size} s=${stride} ${pad}`, () => {
        const x = input();
        // Distinct upstream gradients, so a gradient sent to the wrong position shows.
        return tf.grad((t: tf.Tensor) => {
          const pooled = tf.maxPool(t as tf.Tensor4D, size, stride, pad);
          return tf.sum(tf.mul(pooled, tensor(pooled.shape, 14)));
        })(x);
      });
    }
  });
});

/** Loss and gradients of one training step of `model` on fixed data, on the current backend. */
function lossAndGrads(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor): { loss: number; grads: Map<string, Float32Array> } {
  const { value, grads } = tf.variableGrads(
    () => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
  );
  const result = {
    loss: value.dataSync()[0],
    grads: new Map(Object.entries(grads).map(([name, g]) => [name, g.dataSync() as Float32Array])),
  };
  tf.dispose([value, ...Object.values(grads)]);
  return result;
}

/** A small model touching every replaced kernel: strided and 'valid' convs, BatchNorm, max-pool, dense. */
function smallModel(): tf.LayersModel {
  const init = (seed: number) => tf.initializers.glorotUniform({ seed });
  return tf.sequential({
    layers: [
      tf.layers.conv2d({
        inputShape: [11, 11, 3],
        filters: 6,
        kernelSize: 3,
        padding: 'same',
        activation: 'relu',
        kernelInitializer: init(1),
      }),
      tf.layers.batchNormalization(),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'valid', activation: 'relu', kernelInitializer: init(2) }),
      tf.layers.conv2d({ filters: 4, kernelSize: 1, strides: 2, padding: 'same', kernelInitializer: init(3) }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 16, activation: 'relu', kernelInitializer: init(4) }),
      tf.layers.batchNormalization(),
      tf.layers.dense({ units: 7, kernelInitializer: init(5) }),
    ],
  });
}

describe('a full training step on wasm equals the cpu backend', () => {
  const models: [string, () => tf.LayersModel, number, number][] = [
    ['small model (strides 1 and 2, same and valid)', smallModel, 11, 4],
    ['seed model at 16 px', () => buildModel('seed', { inputSize: 16, seed: 7 }), 16, 3],
    ['compact model at 16 px (separable convs, stride 2)', () => buildModel('compact', { inputSize: 16, seed: 7 }), 16, 3],
  ];
  for (const [label, build, size, batch] of models) {
    test(`${label}: loss and every gradient within 1e-4`, async () => {
      registerWasmTrainingKernels('optimized');
      await tf.setBackend('cpu');
      const model = build();
      const x = tensor([batch, size, size, 3], 13);
      const y = tf.oneHot(
        tf.tensor1d(
          Array.from({ length: batch }, (_, i) => (i * 3) % 7),
          'int32',
        ),
        7,
      );
      const cpu = lossAndGrads(model, x, y);
      await tf.setBackend('wasm');
      const tensorsBefore = tf.memory().numTensors;
      const wasm = lossAndGrads(model, x, y);
      assert.equal(tf.memory().numTensors, tensorsBefore, 'the wasm training step leaked tensors');
      assert.ok(Math.abs(wasm.loss - cpu.loss) <= TOLERANCE * Math.abs(cpu.loss), `loss wasm ${wasm.loss} vs cpu ${cpu.loss}`);
      assert.ok(cpu.grads.size >= 8, `only ${cpu.grads.size} gradients`);
      for (const [name, expected] of cpu.grads) {
        const actual = wasm.grads.get(name);
        assert.ok(actual != null, `no wasm gradient for ${name}`);
        const err = relativeError(actual, expected);
        assert.ok(err <= TOLERANCE, `${label}: gradient of ${name}: relative error ${err.toExponential(2)}`);
      }
      tf.dispose([x, y]);
      model.dispose();
    });
  }
});

describe('registerWasmTrainingKernels', () => {
  test('is idempotent, switches kernel sets back and forth, and reports what is active', async () => {
    await tf.setBackend('wasm');
    assert.deepEqual(registerWasmTrainingKernels('baseline'), BASELINE_WASM_KERNELS);
    const baselineTile = tf.getKernel('Tile', 'wasm');
    assert.deepEqual(registerWasmTrainingKernels('baseline'), BASELINE_WASM_KERNELS);
    assert.equal(tf.getKernel('Tile', 'wasm'), baselineTile, 'a second identical call changed the registry');
    assert.deepEqual(registerWasmTrainingKernels(), OPTIMIZED_WASM_KERNELS);
    assert.notEqual(tf.getKernel('Tile', 'wasm'), baselineTile);
    assert.deepEqual(registerWasmTrainingKernels({ copyTile: false }), { ...OPTIMIZED_WASM_KERNELS, copyTile: false });
    assert.equal(tf.getKernel('Tile', 'wasm'), baselineTile, 'the stock Tile kernel was not put back');
    assert.deepEqual(activeWasmTrainingKernels(), { ...OPTIMIZED_WASM_KERNELS, copyTile: false });
    // A stock kernel put back after the backend started still works (its setupFunc was re-run).
    const tiled = tf.tile(tf.tensor1d([1, 2]), [2]);
    assert.deepEqual(Array.from(tiled.dataSync()), [1, 2, 1, 2]);
    tiled.dispose();
    assert.ok(tf.getKernel('Conv2DBackpropFilter', 'wasm') != null, 'wasm has no Conv2DBackpropFilter');
    registerWasmTrainingKernels('optimized');
  });

  test('NCHW is refused with a clear message', async () => {
    await tf.setBackend('wasm');
    assert.throws(
      () =>
        tf.engine().runKernel('Conv2DBackpropFilter', { x: tf.zeros([1, 3, 4, 4]), dy: tf.zeros([1, 2, 4, 4]) }, {
          strides: 1,
          pad: 'same',
          dataFormat: 'NCHW',
          filterShape: [3, 3, 3, 2],
        } as unknown as tf.NamedAttrMap),
      /supports dataFormat 'NHWC' only/,
    );
  });
});
