// Faster training on tfjs-node by routing three hot paths to native TensorFlow ops.
// Measured (see /work/shared/notes/tfjs-node-training-speed.md and `npm run bench:train`): a seed-model
// training step at 64 px, batch 32 drops from ~480 ms to ~120 ms, with the same results.
//
//   batchNormInference  tfjs-node runs tf.batchNorm as TF's FusedBatchNorm(is_training=false), which is
//                       ~40 ms on a 32x64x64x32 tensor; x*a+b with per-channel a, b is ~3 ms.
//   reluGrad            the ReLU gradient is dy*step(x) in tfjs, and tfjs-node's Step builds ones(x.shape)
//                       in JS (~12 ms a call); TF's ReluGrad is one native pass. tfjs-layers fuses relu into
//                       conv2d/dense (tf.fused.*), whose gradient also uses step, so on 'tensorflow' relu is
//                       applied after the fused op instead (tfjs-node computes the fused op as separate
//                       TF ops anyway, so the forward costs the same).
//   batchNormTraining   BatchNormalization layers in training run TF's FusedBatchNormV3 / GradV3
//                       (./batch-norm-training.ts) instead of ~100 elementwise ops.
//
// Every path checks at call time that the active backend is 'tensorflow' and otherwise runs the stock
// tfjs code, so installing them never changes results on wasm or cpu. removeNativeFastPaths() puts the
// stock kernels back (tests and the benchmark compare both).
import { tf } from '../../core/tf.ts';
import { canUseNativeBatchNorm, nativeBatchNormTraining, type BatchNormLayerLike } from './batch-norm-training.ts';
import { isNativeBackend, reluGrad, type NativeBackend } from './tf-ops.ts';

export interface NativeFastPathOptions {
  batchNormInference: boolean;
  reluGrad: boolean;
  batchNormTraining: boolean;
}

export const ALL_NATIVE_FAST_PATHS: Readonly<NativeFastPathOptions> = Object.freeze({
  batchNormInference: true, reluGrad: true, batchNormTraining: true,
});
const NONE: Readonly<NativeFastPathOptions> = Object.freeze({
  batchNormInference: false, reluGrad: false, batchNormTraining: false,
});

const BACKEND = 'tensorflow';
let active: NativeFastPathOptions = { ...NONE };

/** The tfjs-node backend if it is the active one, else null (then every path runs stock code). */
function activeNativeBackend(): NativeBackend | null {
  if (tf.getBackend() !== BACKEND) return null;
  const backend = tf.backend();
  return isNativeBackend(backend) ? backend : null;
}

// ---- (a) batch-norm inference as x * a + b ---------------------------------------------------------

let stockFusedBatchNorm: tf.KernelConfig | null = null;

const affineBatchNormKernel: tf.KernelFunc = (args) => {
  const { x, mean, variance, scale, offset } = args.inputs as Record<string, tf.Tensor | undefined>;
  const perChannel = [mean, variance, scale, offset].every((t) => t == null || t.rank === 1);
  if (!perChannel) return stockFusedBatchNorm!.kernelFunc(args); // broadcast statistics: stock path
  const { varianceEpsilon } = args.attrs as { varianceEpsilon: number };
  return tf.tidy(() => {
    // (x - mean) * rsqrt(var + eps) * scale + offset  ==  x * a + b, with a and b per channel.
    let a = tf.rsqrt(tf.add(variance!, varianceEpsilon));
    if (scale != null) a = tf.mul(a, scale);
    let b = tf.neg(tf.mul(mean!, a));
    if (offset != null) b = tf.add(b, offset);
    return tf.add(tf.mul(x!, a), b);
  });
};
const affineBatchNormConfig: tf.KernelConfig = { kernelName: 'FusedBatchNorm', backendName: BACKEND, kernelFunc: affineBatchNormKernel };

function setBatchNormInference(on: boolean): void {
  const current = tf.getKernel('FusedBatchNorm', BACKEND);
  if (on) {
    if (current === affineBatchNormConfig) return;
    if (current == null) throw new Error("tfjs-node's FusedBatchNorm kernel is not registered: load @tensorflow/tfjs-node first.");
    stockFusedBatchNorm = current;
    tf.unregisterKernel('FusedBatchNorm', BACKEND);
    tf.registerKernel(affineBatchNormConfig);
  } else if (current === affineBatchNormConfig) {
    tf.unregisterKernel('FusedBatchNorm', BACKEND);
    tf.registerKernel(stockFusedBatchNorm!);
  }
}

// ---- (b) ReLU gradient through TF's ReluGrad --------------------------------------------------------

let stockReluGradient: tf.GradConfig | null = null;

const nativeReluGradient: tf.GradConfig = {
  kernelName: 'Relu',
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const backend = active.reluGrad ? activeNativeBackend() : null;
    if (backend == null || (dy as tf.Tensor).dtype !== 'float32' || saved[0].dtype !== 'float32') {
      return stockReluGradient!.gradFunc(dy, saved, attrs);
    }
    const [x] = saved;
    return { x: () => reluGrad(backend, dy as tf.Tensor, x) };
  },
};

type FusedOp<A> = (args: A) => tf.Tensor;
interface FusedOps {
  conv2d: FusedOp<{ activation?: string }>;
  matMul: FusedOp<{ activation?: string }>;
}
const fusedOps = tf.fused as unknown as FusedOps;
const stockFused: Partial<FusedOps> = {};

/** Wraps a tf.fused op: on tfjs-node, relu runs as a separate tf.relu so its gradient is ReluGrad. */
function unfuseReluOnNative<A extends { activation?: string }>(stock: FusedOp<A>): FusedOp<A> {
  const wrapped = (args: A): tf.Tensor => {
    if (args.activation === 'relu' && active.reluGrad && activeNativeBackend() != null) {
      return tf.tidy(() => tf.relu(stock({ ...args, activation: 'linear' })));
    }
    return stock(args);
  };
  return wrapped;
}

function setReluGrad(on: boolean): void {
  const current = tf.getGradient('Relu');
  if (on) {
    if (current !== nativeReluGradient) {
      if (current == null) throw new Error("tfjs-core has no gradient registered for 'Relu'.");
      stockReluGradient = current;
      tf.registerGradient(nativeReluGradient);
    }
    for (const name of ['conv2d', 'matMul'] as const) {
      if (stockFused[name] == null) {
        stockFused[name] = fusedOps[name];
        fusedOps[name] = unfuseReluOnNative(fusedOps[name]);
      }
    }
  } else {
    if (current === nativeReluGradient) tf.registerGradient(stockReluGradient!);
    for (const name of ['conv2d', 'matMul'] as const) {
      if (stockFused[name] != null) {
        fusedOps[name] = stockFused[name]!;
        delete stockFused[name];
      }
    }
  }
}

// ---- (c) BatchNormalization layer in training through FusedBatchNormV3 / FusedBatchNormGradV3 -------

type LayerCall = (this: BatchNormLayerLike, inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }) => tf.Tensor | tf.Tensor[];
interface BatchNormPrototype { call: LayerCall }
let stockBatchNormCall: LayerCall | null = null;

function batchNormPrototype(): BatchNormPrototype {
  // tfjs-layers does not export the class; every instance shares its prototype.
  return Object.getPrototypeOf(tf.layers.batchNormalization({})) as BatchNormPrototype;
}

function setBatchNormTraining(on: boolean): void {
  const proto = batchNormPrototype();
  if (on && stockBatchNormCall == null) {
    const stock = proto.call;
    stockBatchNormCall = stock;
    proto.call = function nativeAwareCall(inputs, kwargs) {
      if (kwargs?.training === true && active.batchNormTraining) {
        const backend = activeNativeBackend();
        const input = Array.isArray(inputs) ? (inputs.length === 1 ? inputs[0] : null) : inputs;
        if (backend != null && input != null && canUseNativeBatchNorm(this, input)) {
          return nativeBatchNormTraining(backend, this, input);
        }
      }
      return stock.call(this, inputs, kwargs);
    };
  } else if (!on && stockBatchNormCall != null) {
    proto.call = stockBatchNormCall;
    stockBatchNormCall = null;
  }
}

// ---- switches --------------------------------------------------------------------------------------

/**
 * Installs the native fast paths (all by default, or the chosen ones; the others are removed).
 * Needs @tensorflow/tfjs-node loaded (its 'tensorflow' backend registered), not necessarily active.
 * Idempotent. Returns the options now in force.
 */
export function installNativeFastPaths(choice: Partial<NativeFastPathOptions> = ALL_NATIVE_FAST_PATHS): NativeFastPathOptions {
  const options: NativeFastPathOptions = { ...NONE, ...choice };
  setBatchNormInference(options.batchNormInference);
  setReluGrad(options.reluGrad);
  setBatchNormTraining(options.batchNormTraining);
  active = options;
  return { ...active };
}

/** Puts every stock kernel, gradient and layer method back. */
export function removeNativeFastPaths(): void {
  installNativeFastPaths(NONE);
}

/** Which fast paths are installed. */
export function activeNativeFastPaths(): NativeFastPathOptions {
  return { ...active };
}
