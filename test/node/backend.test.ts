import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../core/tf.ts';
import { buildModel } from '../../core/models.ts';
import { initBackend, pooledAllocatorSetHere, POOLED_CPU_ALLOCATOR, type BackendPreference } from '../../trainer/backends/select.ts';

// As the environment had it before anything loaded tfjs-node.
const allocatorBefore = process.env.TF_CPU_ALLOCATOR_USE_BFC;
import { tfjsNodeSkipReason } from './helpers/tfjs-node.ts';

const nodeMissing = tfjsNodeSkipReason();

/** One training step of a small model; returns how far the weights moved, checking for leaks. */
async function trainOneStep(model: tf.LayersModel, inputSize: number): Promise<number> {
  model.compile({ optimizer: tf.train.adam(1e-2), loss: 'categoricalCrossentropy' });
  const x = tf.randomUniform([4, inputSize, inputSize, 3], 0, 1, 'float32', 1);
  const y = tf.oneHot(tf.tensor1d([0, 1, 2, 3], 'int32'), 7);
  await model.trainOnBatch(x, y); // first step creates the optimizer's slots
  const before = model.getWeights().map((w) => w.dataSync().slice());
  const tensorsBefore = tf.memory().numTensors;
  const loss = (await model.trainOnBatch(x, y)) as number;
  assert.equal(tf.memory().numTensors, tensorsBefore, 'a training step leaked tensors');
  assert.ok(Number.isFinite(loss), `loss ${loss}`);
  let moved = 0;
  model.getWeights().forEach((w, i) => {
    w.dataSync().forEach((v, j) => {
      moved = Math.max(moved, Math.abs(v - before[i][j]));
    });
  });
  tf.dispose([x, y]);
  return moved;
}

test('an unknown backend name and the cpu backend without permission are refused clearly', async () => {
  await assert.rejects(initBackend('gpu' as BackendPreference, { log: null }), /Unknown backend "gpu".*auto, tensorflow, wasm, cpu/);
  await assert.rejects(initBackend('cpu', { log: null }), /Backend 'cpu' .* minutes per training batch/);
});

test('wasm: selected, logged, and a core model trains on it (Conv2DBackpropFilter registered)', async () => {
  const lines: string[] = [];
  const info = await initBackend('wasm', { log: (line) => lines.push(line) });
  assert.equal(info.name, 'wasm');
  assert.equal(tf.getBackend(), 'wasm');
  assert.match(info.description, /^wasm \((SIMD|no SIMD), 1 thread/);
  assert.deepEqual(lines, [`backend: ${info.description}`]);
  const model = buildModel('seed', { inputSize: 16, seed: 3 });
  assert.ok((await trainOneStep(model, 16)) > 0, 'weights did not change');
  model.dispose();
});

test('cpu: only when explicitly allowed', async () => {
  const info = await initBackend('cpu', { allowCpuForTraining: true, log: null });
  assert.equal(info.name, 'cpu');
  assert.equal(tf.getBackend(), 'cpu');
});

test('tensorflow: uses tfjs-node when installed, else refuses with the setup command', async () => {
  if (nodeMissing) {
    await assert.rejects(initBackend('tensorflow', { log: null }), /tfjs-node.*npm run setup:tfjs-node/);
    return;
  }
  const info = await initBackend('tensorflow', { log: null });
  assert.equal(info.name, 'tensorflow');
  assert.equal(tf.getBackend(), 'tensorflow');
  // The pooled CPU allocator (trainer/backends/select.ts): set for this process when the environment did not say,
  // and named in the description; a value from the environment is left as it was.
  if (allocatorBefore === undefined) {
    assert.equal(pooledAllocatorSetHere(), true);
    assert.equal(process.env[POOLED_CPU_ALLOCATOR], 'true');
  } else {
    assert.equal(pooledAllocatorSetHere(), false);
    assert.equal(process.env[POOLED_CPU_ALLOCATOR], allocatorBefore);
  }
  const pooled = ['1', 'true'].includes((process.env[POOLED_CPU_ALLOCATOR] ?? '').toLowerCase()) ? ', pooled CPU allocator' : '';
  assert.match(
    info.description,
    new RegExp(`^tensorflow \\(tfjs-node 4\\.22\\.0, TensorFlow \\d+\\.\\d+\\.\\d+, native fast paths on${pooled}\\)$`),
  );
  // tfjs-node brings @tensorflow/tfjs, which must share tfjs-core (and its engine) with core/.
  const tfnode = (await import('@tensorflow/tfjs-node' as string)) as { Tensor: unknown; engine(): unknown };
  assert.equal(tfnode.Tensor, tf.Tensor);
  assert.equal(tfnode.engine(), tf.engine());
  const model = buildModel('seed', { inputSize: 16, seed: 3 });
  assert.ok((await trainOneStep(model, 16)) > 0, 'weights did not change');
  model.dispose();
  const stock = await initBackend('tensorflow', { nativeFastPaths: false, log: null });
  assert.match(stock.description, /native fast paths off/);
});

test('auto: tensorflow when tfjs-node loads, otherwise wasm with the reason', async () => {
  const info = await initBackend('auto', { log: null });
  if (nodeMissing) {
    assert.equal(info.name, 'wasm');
    assert.match(info.fallbackReason ?? '', /tfjs-node (is not installed|failed to load).*setup:tfjs-node/);
  } else {
    assert.equal(info.name, 'tensorflow');
    assert.equal(info.fallbackReason, undefined);
  }
  assert.equal(tf.getBackend(), info.name);
});
