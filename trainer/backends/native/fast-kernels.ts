// Faster training on tfjs-node by routing the hot paths of a tfjs-layers training step to native
// TensorFlow ops (see /work/shared/notes/tfjs-node-training-speed.md). `npm run bench:train` measures
// it: the seed model at 64 px, batch 32, with augmentation, ran 4-7x faster than with the stock
// kernels on this 2-core machine, and the tests check that outputs, gradients, moving statistics
// and Adam updates equal the stock ones within float32 noise.
//
//   batchNormInference  tfjs-node runs tf.batchNorm as TF's FusedBatchNorm(is_training=false), which is
//                       ~40 ms on a 32x64x64x32 tensor; x*a+b with per-channel a, b is ~3 ms.
//   reluGrad            the ReLU gradient is dy*step(x) in tfjs, and tfjs-node's Step builds ones(x.shape)
//                       in JS (~12 ms a call); TF's ReluGrad is one native pass.
//   relu6               tfjs-layers' 'relu6' activation is min(6, relu(x)), and its gradient ReluGrad, Greater,
//                       Cast and Multiply over the whole activation: five passes for MobileNetV2's 35 ReLU6s.
//                       On 'tensorflow' it is TF's Relu6 forward and Relu6Grad backward, one pass each.
//   splitFusedOps       tfjs-layers runs conv2d/dense through tf.fused.*, whose gradient computes all
//                       input gradients eagerly and relu's as dy*step(y); on 'tensorflow' they run as
//                       conv2d/matMul + add + relu, so only needed gradients are computed, relu's via ReluGrad.
//   batchNormTraining   BatchNormalization layers in training run TF's FusedBatchNormV3 / GradV3
//                       (./batch-norm-training.ts) instead of ~100 elementwise ops.
//   dropout             Dropout layers in training draw their noise with TF's StatelessRandomUniform
//                       instead of tfjs' element-by-element JS generator (./dropout.ts).
//   adam                tf.train.adam updates through TF's fused ResourceApplyAdam (./adam.ts).
//   fusedConv           Conv2D / DepthwiseConv2D layers with a bias and a linear, relu or relu6 activation run as one
//                       _FusedConv2D / fused depthwise op (conv + BiasAdd + activation, Keras' kernels) instead of three
//                       passes, in training and inference; needs the binding patch of scripts/build-tfjs-node.sh
//                       (./fused-conv.ts), else the layers run as before.
//
// Every path checks at call time that the active backend is 'tensorflow' and otherwise runs the stock
// tfjs code, so installing them never changes results on wasm or cpu. removeNativeFastPaths() puts the
// stock kernels back (tests and the benchmark compare both).
import { tf } from '../../../core/tf.ts';
import { canUseNativeBatchNorm, nativeBatchNormTraining, type BatchNormLayerLike } from './batch-norm-training.ts';
import { disposeNativeAdamSlots, nativeAdamApplyGradients, type VariableGradients } from './adam.ts';
import { canUseNativeDropout, nativeDropoutTraining, type DropoutLayerLike } from './dropout.ts';
import {
  fusedConvAttrsFor,
  nativeFusedConvAvailable,
  nativeFusedConvCall,
  registerNativeFusedConv,
  type ConvLayerLike,
} from './fused-conv.ts';
import { isNativeBackend, relu6Grad, reluGrad, type NativeBackend } from './tf-ops.ts';

export interface NativeFastPathOptions {
  batchNormInference: boolean;
  reluGrad: boolean;
  relu6: boolean;
  splitFusedOps: boolean;
  batchNormTraining: boolean;
  dropout: boolean;
  adam: boolean;
  fusedConv: boolean;
}

export const ALL_NATIVE_FAST_PATHS: Readonly<NativeFastPathOptions> = Object.freeze({
  batchNormInference: true,
  reluGrad: true,
  relu6: true,
  splitFusedOps: true,
  batchNormTraining: true,
  dropout: true,
  adam: true,
  fusedConv: true,
});
const NONE: Readonly<NativeFastPathOptions> = Object.freeze({
  batchNormInference: false,
  reluGrad: false,
  relu6: false,
  splitFusedOps: false,
  batchNormTraining: false,
  dropout: false,
  adam: false,
  fusedConv: false,
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

// ---- (b) ReLU and ReLU6 gradients through TF's ReluGrad / Relu6Grad -----------------------------------

/**
 * Replaces the registered gradient of an activation kernel by one TF op on tfjs-node (`native(backend, dy, x)`),
 * keeping the stock gradient for other backends and dtypes.
 */
class NativeActivationGradient {
  private stock: tf.GradConfig | null = null;
  private readonly config: tf.GradConfig;
  constructor(
    private readonly kernelName: string,
    enabled: () => boolean,
    native: (backend: NativeBackend, dy: tf.Tensor, x: tf.Tensor) => tf.Tensor,
  ) {
    this.config = {
      kernelName,
      inputsToSave: ['x'],
      gradFunc: (dy, saved, attrs) => {
        const backend = enabled() ? activeNativeBackend() : null;
        if (backend == null || (dy as tf.Tensor).dtype !== 'float32' || saved[0].dtype !== 'float32') {
          return this.stock!.gradFunc(dy, saved, attrs);
        }
        const [x] = saved;
        return { x: () => native(backend, dy as tf.Tensor, x) };
      },
    };
  }

  set(on: boolean): void {
    const current = tf.getGradient(this.kernelName);
    if (on && current !== this.config) {
      if (current == null) throw new Error(`tfjs-core has no gradient registered for '${this.kernelName}'.`);
      this.stock = current;
      tf.registerGradient(this.config);
    } else if (!on && current === this.config) {
      tf.registerGradient(this.stock!);
    }
  }
}

const reluGradient = new NativeActivationGradient('Relu', () => active.reluGrad, reluGrad);
const relu6Gradient = new NativeActivationGradient('Relu6', () => active.relu6, relu6Grad);

interface FusedConv2DArgs {
  x: tf.Tensor3D | tf.Tensor4D;
  filter: tf.Tensor4D;
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat?: 'NHWC' | 'NCHW';
  dilations?: [number, number] | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  bias?: tf.Tensor;
  activation?: string | null;
  preluActivationWeights?: tf.Tensor;
  leakyreluAlpha?: number;
}
interface FusedMatMulArgs {
  a: tf.Tensor;
  b: tf.Tensor;
  transposeA?: boolean;
  transposeB?: boolean;
  bias?: tf.Tensor;
  activation?: string | null;
  preluActivationWeights?: tf.Tensor;
  leakyreluAlpha?: number;
}
interface FusedOps {
  conv2d(args: FusedConv2DArgs): tf.Tensor;
  matMul(args: FusedMatMulArgs): tf.Tensor;
}
const fusedOps = tf.fused as unknown as FusedOps;
let stockFused: FusedOps | null = null;

/**
 * Activations the split form reproduces exactly (relu's gradient then goes through ReluGrad). null is
 * linear: tfjs-layers passes it for convolutions whose activation it applies afterwards (relu6).
 */
const SPLITTABLE = new Set<string | null | undefined>([undefined, null, 'linear', 'relu']);

/**
 * On tfjs-node, tf.fused.conv2d / matMul as separate ops. tfjs-node computes the fused kernels as
 * separate TF ops anyway, so the forward costs the same; but the fused ops' gradient (a customGrad)
 * computes every input gradient eagerly (also dx of the first conv, which nobody needs: ~6 ms for the
 * seed model) and the relu gradient as dy*step(y). Split, the registered gradients run lazily, only
 * for what the tape needs, and relu's goes through ReluGrad.
 */
const splitConv2d = (args: FusedConv2DArgs): tf.Tensor => {
  if (
    !active.splitFusedOps ||
    activeNativeBackend() == null ||
    !SPLITTABLE.has(args.activation) ||
    args.preluActivationWeights != null ||
    (args.dataFormat ?? 'NHWC') !== 'NHWC'
  ) {
    return stockFused!.conv2d(args);
  }
  return tf.tidy(() => {
    let y: tf.Tensor = tf.conv2d(args.x, args.filter, args.strides, args.pad, 'NHWC', args.dilations, args.dimRoundingMode);
    if (args.bias != null) y = tf.add(y, args.bias);
    return args.activation === 'relu' ? tf.relu(y) : y;
  });
};
const splitMatMul = (args: FusedMatMulArgs): tf.Tensor => {
  if (!active.splitFusedOps || activeNativeBackend() == null || !SPLITTABLE.has(args.activation) || args.preluActivationWeights != null) {
    return stockFused!.matMul(args);
  }
  return tf.tidy(() => {
    let y: tf.Tensor = tf.matMul(args.a, args.b, args.transposeA, args.transposeB);
    if (args.bias != null) y = tf.add(y, args.bias);
    return args.activation === 'relu' ? tf.relu(y) : y;
  });
};

function setSplitFusedOps(on: boolean): void {
  if (on && stockFused == null) {
    stockFused = { conv2d: fusedOps.conv2d, matMul: fusedOps.matMul };
    fusedOps.conv2d = splitConv2d;
    fusedOps.matMul = splitMatMul;
  } else if (!on && stockFused != null) {
    fusedOps.conv2d = stockFused.conv2d;
    fusedOps.matMul = stockFused.matMul;
    stockFused = null;
  }
}

// ---- (b2) ReLU6's forward as TF's Relu6 (its gradient is (b)'s) ---------------------------------------

interface ActivationPrototype {
  apply(this: unknown, x: tf.Tensor, alpha?: number): tf.Tensor;
}
/** tfjs-layers' 'relu6' activation class (not exported: found through an Activation layer). */
const relu6ActivationPrototype = (): ActivationPrototype =>
  Object.getPrototypeOf(
    (tf.layers.activation({ activation: 'relu6' }) as unknown as { activation: object }).activation,
  ) as ActivationPrototype;
let stockRelu6Apply: ActivationPrototype['apply'] | null = null;

function setRelu6(on: boolean): void {
  const proto = relu6ActivationPrototype();
  if (on && stockRelu6Apply == null) {
    const stock = proto.apply;
    stockRelu6Apply = stock;
    // min(6, relu(x)) and relu6(x) are the same values; only the number of passes differs.
    proto.apply = function nativeAwareRelu6(x, alpha) {
      return active.relu6 && activeNativeBackend() != null ? tf.relu6(x) : stock.call(this, x, alpha);
    };
  } else if (!on && stockRelu6Apply != null) {
    proto.apply = stockRelu6Apply;
    stockRelu6Apply = null;
  }
  relu6Gradient.set(on);
}

// ---- (c) layers in training: BatchNormalization through FusedBatchNormV3 / GradV3, Dropout's noise from TF

type LayerCall = (this: unknown, inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }) => tf.Tensor | tf.Tensor[];
interface LayerPrototype {
  call: LayerCall;
}

/**
 * Replaces a tfjs-layers class's `call` (found through an instance: the classes are not exported) by
 * one that tries `native` first on tfjs-node (when training, unless `trainingOnly` is false) and falls
 * back to the stock method where `native` returns null.
 */
class LayerCallPatch<L> {
  private stock: LayerCall | null = null;
  constructor(
    private readonly prototypeOf: () => LayerPrototype,
    private readonly enabled: () => boolean,
    private readonly native: (backend: NativeBackend, layer: L, input: tf.Tensor, kwargs: { training?: boolean }) => tf.Tensor | null,
    private readonly trainingOnly = true,
  ) {}

  set(on: boolean): void {
    const proto = this.prototypeOf();
    if (on && this.stock == null) {
      const stock = proto.call;
      const { enabled, native, trainingOnly } = this;
      this.stock = stock;
      proto.call = function nativeAwareCall(inputs, kwargs) {
        if ((kwargs?.training === true || !trainingOnly) && enabled()) {
          const backend = activeNativeBackend();
          const input = Array.isArray(inputs) ? (inputs.length === 1 ? inputs[0] : null) : inputs;
          const out = backend != null && input != null ? native(backend, this as L, input, kwargs) : null;
          if (out != null) return out;
        }
        return stock.call(this, inputs, kwargs);
      };
    } else if (!on && this.stock != null) {
      proto.call = this.stock;
      this.stock = null;
    }
  }
}

const batchNormPatch = new LayerCallPatch<BatchNormLayerLike>(
  () => Object.getPrototypeOf(tf.layers.batchNormalization({})) as LayerPrototype,
  () => active.batchNormTraining,
  (backend, layer, input) => (canUseNativeBatchNorm(layer, input) ? nativeBatchNormTraining(backend, layer, input) : null),
);

const dropoutPatch = new LayerCallPatch<DropoutLayerLike>(
  () => Object.getPrototypeOf(tf.layers.dropout({ rate: 0.5 })) as LayerPrototype,
  () => active.dropout,
  (backend, layer, input, kwargs) => (canUseNativeDropout(layer, input) ? nativeDropoutTraining(backend, layer, input, kwargs) : null),
);

// Conv2D / DepthwiseConv2D (bias + linear/relu/relu6) as one fused TF op, in training and inference. The
// layers' `call` is replaced whole: the fused op includes the activation, which the stock call applies after.
const fusedConvCall = (backend: NativeBackend, layer: ConvLayerLike, input: tf.Tensor): tf.Tensor | null => {
  const attrs = fusedConvAttrsFor(layer, input);
  return attrs != null && nativeFusedConvAvailable(backend) ? nativeFusedConvCall(layer, input, attrs) : null;
};
const conv2dPatch = new LayerCallPatch<ConvLayerLike>(
  () => Object.getPrototypeOf(tf.layers.conv2d({ filters: 1, kernelSize: 1 })) as LayerPrototype,
  () => active.fusedConv,
  fusedConvCall,
  false,
);
const depthwiseConv2dPatch = new LayerCallPatch<ConvLayerLike>(
  () => Object.getPrototypeOf(tf.layers.depthwiseConv2d({ kernelSize: 1 })) as LayerPrototype,
  () => active.fusedConv,
  fusedConvCall,
  false,
);

function setFusedConv(on: boolean): void {
  if (on) registerNativeFusedConv();
  conv2dPatch.set(on);
  depthwiseConv2dPatch.set(on);
}

// ---- (d) Adam through TF's fused ResourceApplyAdam ------------------------------------------------------

interface AdamPrototype {
  applyGradients(this: tf.AdamOptimizer, variableGradients: VariableGradients): void;
  dispose(this: tf.AdamOptimizer): void;
}
let stockAdam: { applyGradients: AdamPrototype['applyGradients']; dispose: AdamPrototype['dispose'] } | null = null;

function setAdam(on: boolean): void {
  const proto = tf.AdamOptimizer.prototype as unknown as AdamPrototype;
  if (on && stockAdam == null) {
    const stock = { applyGradients: proto.applyGradients, dispose: proto.dispose };
    stockAdam = stock;
    proto.applyGradients = function nativeAwareApplyGradients(variableGradients) {
      const backend = active.adam ? activeNativeBackend() : null;
      if (backend == null) return stock.applyGradients.call(this, variableGradients);
      nativeAdamApplyGradients(backend, this, variableGradients);
    };
    proto.dispose = function disposeWithNativeSlots() {
      disposeNativeAdamSlots(activeNativeBackend(), this);
      stock.dispose.call(this);
    };
  } else if (!on && stockAdam != null) {
    // Optimizers that already ran natively keep their resource variables until disposed; the
    // stock dispose() then leaves those few handles to process exit.
    proto.applyGradients = stockAdam.applyGradients;
    proto.dispose = stockAdam.dispose;
    stockAdam = null;
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
  reluGradient.set(options.reluGrad);
  setRelu6(options.relu6);
  setSplitFusedOps(options.splitFusedOps);
  batchNormPatch.set(options.batchNormTraining);
  dropoutPatch.set(options.dropout);
  setAdam(options.adam);
  setFusedConv(options.fusedConv);
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
