// tfjs-layers' Conv2D and DepthwiseConv2D (bias, then linear / ReLU / ReLU6) as ONE native TF op on tfjs-node:
// _FusedConv2D and _MklNativeFusedDepthwiseConv2dNative with fused_ops = [BiasAdd(, Relu|Relu6)], the kernels
// Keras' graph mode runs for the same layers.
//
// Why: tfjs-layers runs such a layer as conv, then a broadcast add of the bias, then the activation: three
// passes over the output, each with a freshly allocated buffer. On MobileNetV2 at 128 px, batch 32, the 52
// convolutions took ~2.3x longer that way than fused (research/speed/micro-fused.ts). The backward pass is
// TF's own (there is no fused backward): ReluGrad / Relu6Grad on the layer's output (TF's registered
// gradients use the output too: 0 < y < 6 exactly where 0 < x < 6), then BiasAddGrad and
// Conv2DBackpropInput / Filter (Depthwise...). The gradient is registered per input, so only what the
// tape needs runs (no dx for the first layer, no filter gradient for frozen layers).
//
// tfjs-node's binding cannot pass the list(string) / list(type) attributes these ops take (fused_ops, TArgs)
// unless scripts/build-tfjs-node.sh patched it; nativeFusedConvAvailable() probes that once (and checks the
// result against the unfused ops), and without it the layers run the stock code.
import { tf } from '../../../core/tf.ts';
import type { NativeBackend, OpAttr } from './tf-ops.ts';

export type FusedActivation = 'linear' | 'relu' | 'relu6';
const FUSED_OPS: Record<FusedActivation, string[]> = { linear: ['BiasAdd'], relu: ['BiasAdd', 'Relu'], relu6: ['BiasAdd', 'Relu6'] };

/** Attributes of the kernels registered below (tfjs NamedAttrMap values). */
interface FusedConvAttrs {
  depthwise: boolean;
  strides: [number, number];
  padding: 'SAME' | 'VALID';
  activation: FusedActivation;
}

const CONV_KERNEL = 'DermLensNativeFusedConv';
const BACKEND = 'tensorflow';

const floatType = (b: NativeBackend, name: string): OpAttr => ({ name, type: b.binding.TF_ATTR_TYPE, value: b.binding.TF_FLOAT });
const attr = (b: NativeBackend, name: string, type: 'INT' | 'STRING', value: unknown): OpAttr => ({
  name,
  type: (b.binding as unknown as Record<string, number>)[`TF_ATTR_${type}`],
  value,
});

function convAttrs(b: NativeBackend, a: FusedConvAttrs): OpAttr[] {
  return [
    floatType(b, 'T'),
    attr(b, 'strides', 'INT', [1, a.strides[0], a.strides[1], 1]),
    attr(b, 'padding', 'STRING', a.padding),
    attr(b, 'data_format', 'STRING', 'NHWC'),
  ];
}

/** The fused forward: conv(x, filter) + bias, then the activation, in one native op. */
export function fusedConvForward(b: NativeBackend, x: tf.Tensor, filter: tf.Tensor, bias: tf.Tensor, a: FusedConvAttrs): tf.Tensor {
  const attrs = [
    ...convAttrs(b, a),
    attr(b, 'num_args', 'INT', 1),
    attr(b, 'fused_ops', 'STRING', FUSED_OPS[a.activation]),
    ...(a.depthwise
      ? // The generic _FusedDepthwiseConv2dNative kernel returns an empty tensor on CPU; the oneDNN one (what
        // TF's graph rewrite uses) is reached through its kernel label, as TF's own eager rewrite does.
        [attr(b, '_kernel', 'STRING', 'MklNameChangeOp')]
      : [{ name: 'TArgs', type: b.binding.TF_ATTR_TYPE, value: [b.binding.TF_FLOAT] }]),
  ];
  return b.executeSingleOutput(a.depthwise ? '_MklNativeFusedDepthwiseConv2dNative' : '_FusedConv2D', attrs, [x, filter, bias]);
}

/** The same computation from separate ops (conv, bias add, activation): the probe's reference. */
function unfusedForward(x: tf.Tensor4D, filter: tf.Tensor4D, bias: tf.Tensor1D, a: FusedConvAttrs): tf.Tensor {
  return tf.tidy(() => {
    const pad = a.padding === 'SAME' ? 'same' : 'valid';
    const y = tf.add(a.depthwise ? tf.depthwiseConv2d(x, filter, a.strides, pad) : tf.conv2d(x, filter, a.strides, pad), bias);
    return a.activation === 'relu6' ? tf.relu6(y) : a.activation === 'relu' ? tf.relu(y) : y;
  });
}

const fusedConvKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, filter, bias } = inputs as { x: tf.Tensor; filter: tf.Tensor; bias: tf.Tensor };
  return fusedConvForward(backend as unknown as NativeBackend, x, filter, bias, attrs as unknown as FusedConvAttrs);
};

const fusedConvGradient: tf.GradConfig = {
  kernelName: CONV_KERNEL,
  inputsToSave: ['x', 'filter'],
  outputsToSave: [true],
  gradFunc: (dy, saved, attrs) => {
    const b = tf.backend() as unknown as NativeBackend;
    const a = attrs as unknown as FusedConvAttrs;
    const [x, filter, y] = saved;
    const grad = dy as tf.Tensor;
    // Through the activation first, once for all three inputs (lives until the backward pass ends, as
    // the unfused path's activation gradient does).
    const dz =
      a.activation === 'linear'
        ? grad
        : b.executeSingleOutput(a.activation === 'relu6' ? 'Relu6Grad' : 'ReluGrad', [floatType(b, 'T')], [grad, y]);
    const sizes = (shape: number[]) => tf.tensor1d(shape, 'int32');
    const opAttrs = convAttrs(b, a);
    return {
      x: () =>
        b.executeSingleOutput(a.depthwise ? 'DepthwiseConv2dNativeBackpropInput' : 'Conv2DBackpropInput', opAttrs, [
          sizes(x.shape),
          filter,
          dz,
        ]),
      filter: () =>
        b.executeSingleOutput(a.depthwise ? 'DepthwiseConv2dNativeBackpropFilter' : 'Conv2DBackpropFilter', opAttrs, [
          x,
          sizes(filter.shape),
          dz,
        ]),
      bias: () => b.executeSingleOutput('BiasAddGrad', [floatType(b, 'T'), attr(b, 'data_format', 'STRING', 'NHWC')], [dz]),
    };
  },
};

/** Registers the fused kernel and its gradient (idempotent). */
export function registerNativeFusedConv(): void {
  if (tf.getKernel(CONV_KERNEL, BACKEND) == null)
    tf.registerKernel({ kernelName: CONV_KERNEL, backendName: BACKEND, kernelFunc: fusedConvKernel });
  if (tf.getGradient(CONV_KERNEL) !== fusedConvGradient) tf.registerGradient(fusedConvGradient);
}

/**
 * Whether this tfjs-node can run the fused ops: its binding passes list(string) / list(type) attributes
 * (scripts/build-tfjs-node.sh patches it) and the fused ops give the unfused result on a small input that
 * saturates ReLU6 at both ends. Never throws.
 */
export function probeNativeFusedConv(b: NativeBackend): boolean {
  try {
    return tf.tidy(() => {
      const x = tf.tensor4d(
        Array.from({ length: 2 * 5 * 5 * 3 }, (_, i) => ((i * 37) % 23) - 8),
        [2, 5, 5, 3],
      );
      const cases: [tf.Tensor4D, FusedConvAttrs][] = [
        [
          tf.tensor4d(
            Array.from({ length: 3 * 3 * 3 * 4 }, (_, i) => ((i * 11) % 7) / 7 - 0.4),
            [3, 3, 3, 4],
          ),
          { depthwise: false, strides: [2, 2], padding: 'SAME', activation: 'relu6' },
        ],
        [
          tf.tensor4d(
            Array.from({ length: 3 * 3 * 3 }, (_, i) => ((i * 5) % 9) / 9 - 0.3),
            [3, 3, 3, 1],
          ),
          { depthwise: true, strides: [1, 1], padding: 'VALID', activation: 'relu6' },
        ],
      ];
      return cases.every(([filter, a]) => {
        const channels = a.depthwise ? filter.shape[2] * filter.shape[3] : filter.shape[3];
        const bias = tf.tensor1d(Array.from({ length: channels }, (_, i) => i - 1));
        const fused = fusedConvForward(b, x, filter, bias, a);
        const reference = unfusedForward(x, filter, bias, a);
        return tf.util.arraysEqual(fused.shape, reference.shape) && tf.max(tf.abs(tf.sub(fused, reference))).dataSync()[0] < 1e-4;
      });
    });
  } catch {
    return false; // the stock binding rejects the list attributes ("Invalid string" / number expected)
  }
}

let available: boolean | null = null;

/** probeNativeFusedConv, once per process. */
export function nativeFusedConvAvailable(b: NativeBackend): boolean {
  available ??= probeNativeFusedConv(b);
  return available;
}

/** Tests only: pretend the probe said `value` (null: probe again on next use). */
export function setNativeFusedConvAvailableForTests(value: boolean | null): void {
  available = value;
}

/** The fields of tfjs-layers' Conv2D / DepthwiseConv2D layers read here (the classes are not exported). */
interface LayerVariableLike {
  read(): tf.Variable;
}
export interface ConvLayerLike {
  getClassName(): string;
  rank?: number;
  strides: number[];
  padding: string;
  dataFormat: string;
  dilationRate?: number | number[];
  activation: { getClassName(): string } | null;
  kernel?: LayerVariableLike;
  depthwiseKernel?: LayerVariableLike;
  bias?: LayerVariableLike | null;
}

/** The fused op's attributes for `layer` on `input`, or null where the layer needs the stock code. */
export function fusedConvAttrsFor(layer: ConvLayerLike, input: tf.Tensor): FusedConvAttrs | null {
  const depthwise = layer.getClassName() === 'DepthwiseConv2D';
  if (!depthwise && (layer.getClassName() !== 'Conv2D' || layer.rank !== 2)) return null;
  const activation = layer.activation?.getClassName() ?? 'linear';
  const dilations = layer.dilationRate == null ? [1] : ([] as number[]).concat(layer.dilationRate);
  const kernel = depthwise ? layer.depthwiseKernel : layer.kernel;
  if (
    (activation !== 'linear' && activation !== 'relu' && activation !== 'relu6') ||
    layer.bias == null ||
    kernel == null ||
    layer.dataFormat !== 'channelsLast' ||
    (layer.padding !== 'same' && layer.padding !== 'valid') ||
    dilations.some((d) => d !== 1) ||
    layer.strides.length !== 2 ||
    input.rank !== 4 ||
    input.dtype !== 'float32'
  ) {
    return null;
  }
  return {
    depthwise,
    strides: [layer.strides[0], layer.strides[1]],
    padding: layer.padding === 'same' ? 'SAME' : 'VALID',
    activation,
  };
}

/** The layer's forward through the registered fused kernel (caller checked fusedConvAttrsFor and availability). */
export function nativeFusedConvCall(layer: ConvLayerLike, input: tf.Tensor, attrs: FusedConvAttrs): tf.Tensor {
  const filter = (attrs.depthwise ? layer.depthwiseKernel! : layer.kernel!).read();
  const inputs = { x: input, filter, bias: layer.bias!.read() };
  return tf.engine().runKernel(CONV_KERNEL, inputs as unknown as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
}
