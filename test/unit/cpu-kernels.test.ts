import { test } from 'node:test';
import assert from 'node:assert/strict';
import '@tensorflow/tfjs-backend-cpu';
import { tf } from '../../core/tf.ts';
import { installFastCpuKernels } from '../../trainer/backends/cpu-kernels.ts';

test('fast cpu Conv2DBackpropFilter equals the stock kernel (strides, paddings, odd shapes)', async () => {
  await tf.setBackend('cpu');
  const stock = installFastCpuKernels();
  assert.equal(installFastCpuKernels(), stock, 'second install keeps the original stock kernel');
  const cases: Array<{ x: [number, number, number, number]; f: [number, number, number, number]; s: number; pad: 'same' | 'valid' }> = [
    { x: [2, 9, 7, 3], f: [3, 3, 3, 5], s: 1, pad: 'same' },
    { x: [3, 10, 10, 4], f: [3, 3, 4, 6], s: 2, pad: 'same' },
    { x: [2, 8, 9, 5], f: [1, 1, 5, 4], s: 2, pad: 'same' },
    { x: [1, 11, 8, 2], f: [3, 2, 2, 3], s: 1, pad: 'valid' },
  ];
  const before = tf.memory().numTensors;
  for (const c of cases) {
    tf.tidy(() => {
      const x = tf.relu(tf.randomNormal(c.x, 0, 1, 'float32', 7)); // relu: exercises the zero skip
      const w = tf.randomNormal(c.f, 0, 1, 'float32', 8);
      const y = tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.s, c.pad);
      const dy = tf.randomNormal(y.shape, 0, 1, 'float32', 9);
      const fast = tf
        .engine()
        .runKernel('Conv2DBackpropFilter', { x, dy }, { strides: c.s, pad: c.pad, dataFormat: 'NHWC', filterShape: c.f }) as tf.Tensor;
      const ref = stock.kernelFunc({
        inputs: { x, dy },
        backend: tf.backend(),
        attrs: { strides: c.s, pad: c.pad, dataFormat: 'NHWC', filterShape: c.f },
      }) as tf.TensorInfo;
      const refValues = tf.backend().readSync(ref.dataId) as Float32Array;
      const got = fast.dataSync();
      assert.deepEqual(fast.shape, c.f);
      assert.equal(got.length, refValues.length);
      let maxErr = 0,
        maxRef = 0;
      for (let i = 0; i < got.length; i++) {
        maxErr = Math.max(maxErr, Math.abs(got[i] - refValues[i]));
        maxRef = Math.max(maxRef, Math.abs(refValues[i]));
      }
      assert.ok(maxRef > 0.1, 'reference gradient is not trivially zero');
      assert.ok(maxErr <= 1e-4 * maxRef, `max abs error ${maxErr} vs max ${maxRef}`);
      tf.backend().disposeData(ref.dataId);
    });
  }
  assert.equal(tf.memory().numTensors, before);
});
