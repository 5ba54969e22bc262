// Runs TensorFlow ops that tfjs-node does not expose, straight through its binding, the same way
// tfjs-node's own kernels do (backend.executeSingleOutput / executeMultipleOutputs with op attrs).
// Only valid while the active backend is 'tensorflow'.
import { tf } from '../../../core/tf.ts';

/** The part of tfjs-node's NodeJSKernelBackend used here (tfjs-node is optional, so no import). */
export interface NativeBackend {
  binding: {
    TF_ATTR_TYPE: number;
    TF_ATTR_FLOAT: number;
    TF_ATTR_STRING: number;
    TF_ATTR_BOOL: number;
    TF_FLOAT: number;
    TF_INT32: number;
  };
  executeSingleOutput(name: string, attrs: OpAttr[], inputs: tf.Tensor[]): tf.Tensor;
  executeMultipleOutputs(name: string, attrs: OpAttr[], inputs: tf.Tensor[], numOutputs: number): tf.Tensor[];
}

export interface OpAttr {
  name: string;
  type: number;
  value: unknown;
}

export function isNativeBackend(backend: unknown): backend is NativeBackend {
  const b = backend as Partial<NativeBackend> | null;
  return b != null && typeof b.executeMultipleOutputs === 'function' && typeof b.binding === 'object';
}

/** The active backend as tfjs-node's; throws if it is something else. */
export function nativeBackend(): NativeBackend {
  const backend = tf.backend();
  if (tf.getBackend() !== 'tensorflow' || !isNativeBackend(backend)) {
    throw new Error(`Native TF ops need the 'tensorflow' backend (tfjs-node); active backend is '${tf.getBackend()}'.`);
  }
  return backend;
}

function float32TypeAttr(backend: NativeBackend, name: string): OpAttr {
  return { name, type: backend.binding.TF_ATTR_TYPE, value: backend.binding.TF_FLOAT };
}

function requireFloat32(op: string, ...tensors: tf.Tensor[]): void {
  for (const t of tensors) {
    if (t.dtype !== 'float32') throw new Error(`${op}: expected float32 tensors, got ${t.dtype}.`);
  }
}

/** TF's ReluGrad: dy where features > 0, else 0. One pass, instead of tfjs' dy * step(x). */
export function reluGrad(backend: NativeBackend, dy: tf.Tensor, features: tf.Tensor): tf.Tensor {
  requireFloat32('ReluGrad', dy, features);
  return backend.executeSingleOutput('ReluGrad', [float32TypeAttr(backend, 'T')], [dy, features]);
}

/** TF's Relu6Grad: dy where 0 < features < 6, else 0. One pass, instead of the four ops tfjs builds. */
export function relu6Grad(backend: NativeBackend, dy: tf.Tensor, features: tf.Tensor): tf.Tensor {
  requireFloat32('Relu6Grad', dy, features);
  return backend.executeSingleOutput('Relu6Grad', [float32TypeAttr(backend, 'T')], [dy, features]);
}

export interface FusedBatchNormTrainingResult {
  y: tf.Tensor4D;
  batchMean: tf.Tensor1D;
  /** Bessel-corrected (n / (n - 1)): this is what TF outputs to update its running variance. */
  batchVarianceCorrected: tf.Tensor1D;
  /** Opaque tensors FusedBatchNormGradV3 needs (the batch mean and inverse variance, in TF's layout). */
  reserve: [tf.Tensor, tf.Tensor, tf.Tensor];
}

function batchNormAttrs(backend: NativeBackend, epsilon: number, isTraining: boolean): OpAttr[] {
  return [
    float32TypeAttr(backend, 'T'),
    float32TypeAttr(backend, 'U'),
    { name: 'epsilon', type: backend.binding.TF_ATTR_FLOAT, value: epsilon },
    { name: 'data_format', type: backend.binding.TF_ATTR_STRING, value: 'NHWC' },
    { name: 'is_training', type: backend.binding.TF_ATTR_BOOL, value: isTraining },
  ];
}

/**
 * FusedBatchNormV3 in training mode on NHWC input: normalises with the batch's own mean and (biased)
 * variance in one native pass. `placeholderMean`/`placeholderVariance` only satisfy the op's shape
 * check: with exponential_avg_factor = 1 TF ignores their values.
 */
export function fusedBatchNormTraining(
  backend: NativeBackend,
  x: tf.Tensor4D,
  scale: tf.Tensor1D,
  offset: tf.Tensor1D,
  epsilon: number,
  placeholderMean: tf.Tensor1D,
  placeholderVariance: tf.Tensor1D,
): FusedBatchNormTrainingResult {
  requireFloat32('FusedBatchNormV3', x, scale, offset, placeholderMean, placeholderVariance);
  const attrs = [
    ...batchNormAttrs(backend, epsilon, true),
    { name: 'exponential_avg_factor', type: backend.binding.TF_ATTR_FLOAT, value: 1 },
  ];
  const [y, batchMean, batchVarianceCorrected, r1, r2, r3] = backend.executeMultipleOutputs(
    'FusedBatchNormV3',
    attrs,
    [x, scale, offset, placeholderMean, placeholderVariance],
    6,
  );
  return {
    y: y as tf.Tensor4D,
    batchMean: batchMean as tf.Tensor1D,
    batchVarianceCorrected: batchVarianceCorrected as tf.Tensor1D,
    reserve: [r1, r2, r3],
  };
}

/** FusedBatchNormGradV3 (training mode): gradients for x, scale and offset in one native pass. */
export function fusedBatchNormGrad(
  backend: NativeBackend,
  dy: tf.Tensor4D,
  x: tf.Tensor4D,
  scale: tf.Tensor1D,
  reserve: readonly [tf.Tensor, tf.Tensor, tf.Tensor],
  epsilon: number,
): { dx: tf.Tensor4D; dScale: tf.Tensor1D; dOffset: tf.Tensor1D } {
  requireFloat32('FusedBatchNormGradV3', dy, x, scale);
  const outputs = backend.executeMultipleOutputs(
    'FusedBatchNormGradV3',
    batchNormAttrs(backend, epsilon, true),
    [dy, x, scale, ...reserve],
    5,
  );
  // Outputs 3 and 4 are unused reserve spaces (empty).
  tf.dispose(outputs.slice(3));
  return { dx: outputs[0] as tf.Tensor4D, dScale: outputs[1] as tf.Tensor1D, dOffset: outputs[2] as tf.Tensor1D };
}

/**
 * TF's StatelessRandomUniform: float32 uniform in [0, 1), a pure function of `seed` (two int32s),
 * generated natively (tfjs' randomUniform fills the buffer in JS: ~20 ms for 1 M values here).
 */
export function statelessRandomUniform(backend: NativeBackend, shape: readonly number[], seed: readonly [number, number]): tf.Tensor {
  for (const s of seed) {
    if (!Number.isInteger(s) || s < -(2 ** 31) || s >= 2 ** 31) throw new Error(`StatelessRandomUniform: seed ${s} is not an int32.`);
  }
  const shapeTensor = tf.tensor1d([...shape], 'int32');
  const seedTensor = tf.tensor1d([...seed], 'int32');
  try {
    const int32 = (name: string): OpAttr => ({ name, type: backend.binding.TF_ATTR_TYPE, value: backend.binding.TF_INT32 });
    return backend.executeSingleOutput(
      'StatelessRandomUniform',
      [float32TypeAttr(backend, 'dtype'), int32('T'), int32('Tseed')],
      [shapeTensor, seedTensor],
    );
  } finally {
    tf.dispose([shapeTensor, seedTensor]);
  }
}
