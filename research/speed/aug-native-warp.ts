// How much of the step the augmentation is, and what TF's own warp kernel would save: the trainer's
// augmentBatch (pure JS: affine warp, colour jitter, field of view) on a 32 x 128 x 128 batch with the strong
// recipe, against ImageProjectiveTransformV3 (the kernel Keras' RandomRotation/RandomZoom run) doing the warp
// alone, called through tfjs-node's binding. Medians of 12 calls each.
//   npx tsx research/speed/aug-native-warp.ts
import { tf } from '../../core/tf.ts';
import { initBackend } from '../../trainer/backends/select.ts';
import { nativeBackend } from '../../trainer/backends/native/tf-ops.ts';
import { makeRng } from '../../trainer/data/rng.ts';
import { augmentBatch, STRONG_AUGMENT } from '../../trainer/train/augment.ts';

await initBackend('tensorflow', { log: null });
const x = tf.randomUniform([32, 128, 128, 3]) as tf.Tensor4D;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const timed = (run: () => tf.Tensor) =>
  median(
    Array.from({ length: 12 }, () => {
      const start = performance.now();
      const y = run();
      y.dataSync();
      y.dispose();
      return performance.now() - start;
    }),
  );

const rng = makeRng(1);
const js = timed(() => augmentBatch(x, rng, { ...STRONG_AUGMENT, fieldOfView: 0.3 }));
const b = nativeBackend();
const binding = b.binding as unknown as Record<string, number>;
const transforms = tf.tensor2d(
  Array.from({ length: 32 }, () => [0.98, -0.17, 12, 0.17, 0.98, -9, 0, 0]),
  [32, 8],
);
const outputShape = tf.tensor1d([128, 128], 'int32');
const fill = tf.scalar(0);
const native = timed(() =>
  b.executeSingleOutput(
    'ImageProjectiveTransformV3',
    [
      { name: 'dtype', type: binding.TF_ATTR_TYPE, value: binding.TF_FLOAT },
      { name: 'interpolation', type: binding.TF_ATTR_STRING, value: 'BILINEAR' },
      { name: 'fill_mode', type: binding.TF_ATTR_STRING, value: 'REFLECT' },
    ],
    [x, transforms, outputShape, fill],
  ),
);
console.log(
  `augmentBatch (JS, warp + colour + field of view): ${js.toFixed(1)} ms; ImageProjectiveTransformV3 (warp only): ${native.toFixed(1)} ms`,
);
tf.dispose([x, transforms, outputShape, fill]);
