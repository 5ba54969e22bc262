// tfjs-layers' BatchNormalization in training mode, computed by TF's fused kernels on tfjs-node.
//
// Stock tfjs-layers builds it from tf.moments + tf.batchNorm, and its gradient from a few dozen
// broadcast elementwise ops over the full activation: ~100 ms of a ~480 ms seed-model step here.
// FusedBatchNormV3 (forward) and FusedBatchNormGradV3 (backward, via tf.customGrad) do each in one
// native pass. The layer's semantics are kept exactly: output normalised with the biased batch
// variance, moving mean/variance updated as tfjs-layers does (v - (v - batchValue) * (1 - momentum))
// with the BIASED batch variance, although TF's own running average uses the Bessel-corrected one.
import { tf } from '../../../core/tf.ts';
import { fusedBatchNormGrad, fusedBatchNormTraining, type NativeBackend } from './tf-ops.ts';

/** The fields of tfjs-layers' BatchNormalization layer this code reads (the class is not exported). */
interface LayerVariableLike {
  read(): tf.Variable;
  write(value: tf.Tensor): unknown;
}
export interface BatchNormLayerLike {
  axis: number;
  momentum: number;
  epsilon: number;
  center: boolean;
  scale: boolean;
  gamma?: LayerVariableLike;
  beta?: LayerVariableLike;
  movingMean: LayerVariableLike;
  movingVariance: LayerVariableLike;
}

/** Whether the native path applies: NHWC-like input (channels last) of rank 4 or 2, float32, gamma and beta present. */
export function canUseNativeBatchNorm(layer: BatchNormLayerLike, input: tf.Tensor): boolean {
  const rank = input.rank;
  const axis = layer.axis >= 0 ? layer.axis : layer.axis + rank;
  return (
    (rank === 4 || rank === 2) &&
    axis === rank - 1 &&
    input.dtype === 'float32' &&
    layer.center &&
    layer.scale &&
    layer.gamma != null &&
    layer.beta != null &&
    input.size > 0
  );
}

/** Same moving-average update as tfjs-layers' BatchNormalization (op for op). */
function updateMovingAverage(variable: LayerVariableLike, value: tf.Tensor, momentum: number): void {
  tf.tidy(() => {
    const decay = 1 - momentum;
    const origValue = variable.read();
    const updateDelta = tf.mul(tf.sub(origValue, value), decay);
    variable.write(tf.sub(origValue, updateDelta));
  });
}

/**
 * The training-mode forward of `layer` on `input` (caller checked canUseNativeBatchNorm), recording
 * a native gradient on the tape and updating the moving statistics.
 */
export function nativeBatchNormTraining(backend: NativeBackend, layer: BatchNormLayerLike, input: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const shape = input.shape;
    const channels = shape[shape.length - 1];
    // FusedBatchNormV3 wants NHWC; a Dense activation [N, C] is [N, 1, 1, C] (reshape is free).
    const x4 = (input.rank === 4 ? input : tf.reshape(input, [shape[0], 1, 1, channels])) as tf.Tensor4D;
    const count = x4.size / channels;
    const epsilon = layer.epsilon;
    const batch: { mean?: tf.Tensor1D; variance?: tf.Tensor1D } = {};

    const normalize = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const [x, gamma, beta] = args as tf.Tensor[];
      const save = args[3] as tf.GradSaveFunc;
      const out = fusedBatchNormTraining(
        backend,
        x as tf.Tensor4D,
        gamma as tf.Tensor1D,
        beta as tf.Tensor1D,
        epsilon,
        layer.movingMean.read() as tf.Tensor1D,
        layer.movingVariance.read() as tf.Tensor1D,
      );
      save([x, gamma, ...out.reserve]);
      // customGrad runs this inside a tidy; keep the statistics for the moving averages below.
      batch.mean = tf.keep(out.batchMean);
      // Undo TF's Bessel correction: tfjs-layers averages the biased variance.
      batch.variance = tf.keep(
        count > 1 ? (tf.mul(out.batchVarianceCorrected, (count - 1) / count) as tf.Tensor1D) : out.batchVarianceCorrected,
      );
      return {
        value: out.y,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [savedX, savedGamma, r1, r2, r3] = saved;
          const { dx, dScale, dOffset } = fusedBatchNormGrad(
            backend,
            dy as tf.Tensor4D,
            savedX as tf.Tensor4D,
            savedGamma as tf.Tensor1D,
            [r1, r2, r3],
            epsilon,
          );
          return [dx, dScale, dOffset];
        },
      };
    });

    const y4 = normalize(x4, layer.gamma!.read(), layer.beta!.read());
    try {
      updateMovingAverage(layer.movingMean, batch.mean!, layer.momentum);
      updateMovingAverage(layer.movingVariance, batch.variance!, layer.momentum);
    } finally {
      tf.dispose([batch.mean!, batch.variance!]);
    }
    return input.rank === 4 ? y4 : tf.reshape(y4, shape);
  });
}
