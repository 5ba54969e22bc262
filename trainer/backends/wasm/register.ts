// Makes the tfjs 'wasm' backend able to train, and fast at it, by (re)registering a few kernels.
// tfjs-backend-wasm 4.22 lacks Conv2DBackpropFilter (fit of any conv model throws) and both depthwise
// conv gradients, and some kernels it has are slow for training. Each speed-up sits behind its own
// switch so the benchmark can show what it buys; the missing kernels are always registered.
import '@tensorflow/tfjs-backend-wasm'; // registers the stock wasm kernels, which we capture and may override
import { tf } from '../../../core/tf.ts';
import { backpropFilterByTaps, backpropFilterFast, type BackpropFilterAttrs } from './conv2d-backprop-filter.ts';
import { backpropInputByConv, type BackpropInputAttrs } from './conv2d-backprop-input.ts';
import { tileOnWasmHeap } from './tile.ts';
import { makeBatchMatMulKernel } from './batch-mat-mul.ts';
import { makeMeanKernel, makeSumKernel } from './reduce-leading.ts';
import { maxPoolGradOnWasmHeap } from './max-pool-grad.ts';
import { inputTensors } from './kernel-inputs.ts';
import { makeSliceKernel } from './slice.ts';
import {
  depthwiseBackpropFilter,
  depthwiseBackpropInput,
  type DepthwiseBackpropFilterAttrs,
  type DepthwiseBackpropInputAttrs,
} from './depthwise-conv2d-grads.ts';

export interface WasmTrainingKernelOptions {
  /**
   * Conv2DBackpropFilter as plain XNNPACK matmuls over shifted windows (stride 1) or one XNNPACK conv
   * (other strides) (true), or as the first version that worked (false): one transposed matmul per
   * filter tap on strided slices. One of the two is always registered: wasm has none of its own.
   */
  fastBackpropFilter: boolean;
  /** Conv2DBackpropInput as an XNNPACK convolution (true) or tfjs-wasm's own C++ loop (false). */
  convBackpropInput: boolean;
  /** Tile by block copies on the wasm heap (true) or tfjs-wasm's per-element Tile (false). */
  copyTile: boolean;
  /** BatchMatMul with transpose flags rewritten as plain (XNNPACK) products (true) or stock (false). */
  plainMatMul: boolean;
  /** Sum/Mean over leading axes summed in place (true) or stock transpose-then-reduce (false). */
  leadingReductions: boolean;
  /** MaxPoolGrad in one pass with first-maximum ties like cpu (true) or stock (false). */
  onePassMaxPoolGrad: boolean;
  /** Slice copying only the slice (true) or stock, which first copies the whole input (false). */
  heapSlice: boolean;
}

/** The first working version: only the missing kernel added, by per-tap matmuls. */
export const BASELINE_WASM_KERNELS: Readonly<WasmTrainingKernelOptions> = Object.freeze({
  fastBackpropFilter: false,
  convBackpropInput: false,
  copyTile: false,
  plainMatMul: false,
  leadingReductions: false,
  onePassMaxPoolGrad: false,
  heapSlice: false,
});

export const OPTIMIZED_WASM_KERNELS: Readonly<WasmTrainingKernelOptions> = Object.freeze({
  fastBackpropFilter: true,
  convBackpropInput: true,
  copyTile: true,
  plainMatMul: true,
  leadingReductions: true,
  onePassMaxPoolGrad: true,
  heapSlice: true,
});

const BACKEND = 'wasm';

/**
 * A kernel function from a computation written with tf ops (which run as wasm kernels). The result
 * Tensor is returned as is: the engine accepts Tensors from kernels, and nested ops run with the
 * gradient tape off.
 */
function kernelFromOps<A>(kernelName: string, inputNames: string[], compute: (inputs: tf.Tensor[], attrs: A) => tf.Tensor): tf.KernelFunc {
  return ({ inputs, attrs, backend }) =>
    tf.tidy(() => compute(inputTensors(inputs, inputNames, backend, kernelName), attrs as unknown as A));
}

const byTapsFilterKernel = kernelFromOps<BackpropFilterAttrs>('Conv2DBackpropFilter', ['x', 'dy'], ([x, dy], attrs) =>
  backpropFilterByTaps(x as tf.Tensor4D, dy as tf.Tensor4D, attrs),
);
const fastFilterKernel = kernelFromOps<BackpropFilterAttrs>('Conv2DBackpropFilter', ['x', 'dy'], ([x, dy], attrs) =>
  backpropFilterFast(x as tf.Tensor4D, dy as tf.Tensor4D, attrs),
);
const byConvInputKernel = kernelFromOps<BackpropInputAttrs>('Conv2DBackpropInput', ['dy', 'filter'], ([dy, filter], attrs) =>
  backpropInputByConv(dy as tf.Tensor4D, filter as tf.Tensor4D, attrs),
);

/** Where tfjs-wasm has no kernel of this name to hand the cases we do not speed up to. */
function stockOrThrow(kernelName: string, stock: tf.KernelConfig | undefined): tf.KernelFunc {
  if (stock == null) throw new Error(`tfjs-backend-wasm has no stock '${kernelName}' kernel to delegate to.`);
  return stock.kernelFunc;
}

const depthwiseInputKernel = kernelFromOps<DepthwiseBackpropInputAttrs>(
  'DepthwiseConv2dNativeBackpropInput',
  ['dy', 'filter'],
  ([dy, filter], attrs) => depthwiseBackpropInput(dy as tf.Tensor4D, filter as tf.Tensor4D, attrs),
);
const depthwiseFilterKernel = kernelFromOps<DepthwiseBackpropFilterAttrs>(
  'DepthwiseConv2dNativeBackpropFilter',
  ['x', 'dy'],
  ([x, dy], attrs) => depthwiseBackpropFilter(x as tf.Tensor4D, dy as tf.Tensor4D, attrs),
);

interface KernelSlot {
  kernelName: string;
  /** The switch that picks the replacement; none: always registered (kernels wasm lacks entirely). */
  option?: keyof WasmTrainingKernelOptions;
  /** The replacement, given the stock kernel (some hand the cases they do not speed up to it). */
  replacement(stock: tf.KernelConfig | undefined): tf.KernelFunc;
  /** What runs with the switch off, where that is not the stock kernel. */
  fallback?: tf.KernelFunc;
}

const SLOTS: KernelSlot[] = [
  { kernelName: 'Conv2DBackpropFilter', option: 'fastBackpropFilter', replacement: () => fastFilterKernel, fallback: byTapsFilterKernel },
  { kernelName: 'Conv2DBackpropInput', option: 'convBackpropInput', replacement: () => byConvInputKernel },
  { kernelName: 'Tile', option: 'copyTile', replacement: () => tileOnWasmHeap },
  { kernelName: 'BatchMatMul', option: 'plainMatMul', replacement: (stock) => makeBatchMatMulKernel(stockOrThrow('BatchMatMul', stock)) },
  { kernelName: 'Sum', option: 'leadingReductions', replacement: (stock) => makeSumKernel(stockOrThrow('Sum', stock)) },
  { kernelName: 'Mean', option: 'leadingReductions', replacement: (stock) => makeMeanKernel(stockOrThrow('Mean', stock)) },
  { kernelName: 'MaxPoolGrad', option: 'onePassMaxPoolGrad', replacement: () => maxPoolGradOnWasmHeap },
  { kernelName: 'Slice', option: 'heapSlice', replacement: (stock) => makeSliceKernel(stockOrThrow('Slice', stock)) },
  // Missing in tfjs-wasm 4.22; needed by depthwise / separable convs (the 'compact' model).
  { kernelName: 'DepthwiseConv2dNativeBackpropInput', replacement: () => depthwiseInputKernel },
  { kernelName: 'DepthwiseConv2dNativeBackpropFilter', replacement: () => depthwiseFilterKernel },
];

interface ResolvedSlot {
  slot: KernelSlot;
  on: tf.KernelConfig;
  off: tf.KernelConfig | undefined;
}

/** Each slot's two configs, built once around the stock kernels captured before any override. */
let resolved: ResolvedSlot[] | null = null;
let active: WasmTrainingKernelOptions | null = null;

function resolveSlots(): ResolvedSlot[] {
  return SLOTS.map((slot) => {
    const stock = tf.getKernel(slot.kernelName, BACKEND);
    // A replacement carries the stock setupFunc: tfjs runs setupFuncs of *registered* kernels when the
    // backend starts, and the stock kernel the replacement delegates to must be bound even then.
    const setupFunc = stock?.setupFunc;
    const on: tf.KernelConfig = { kernelName: slot.kernelName, backendName: BACKEND, kernelFunc: slot.replacement(stock), setupFunc };
    const off: tf.KernelConfig | undefined =
      slot.fallback != null ? { kernelName: slot.kernelName, backendName: BACKEND, kernelFunc: slot.fallback } : stock;
    return { slot, on, off };
  });
}

/**
 * Registers the wasm training kernels: 'optimized' (default), 'baseline' (the first working version,
 * for comparison) or any mix of switches (unnamed ones on). Idempotent; calling it again with other
 * options swaps kernels in place, also after the wasm backend has started. Returns the options in force.
 */
export function registerWasmTrainingKernels(
  choice: 'optimized' | 'baseline' | Partial<WasmTrainingKernelOptions> = 'optimized',
): WasmTrainingKernelOptions {
  const options: WasmTrainingKernelOptions =
    choice === 'optimized'
      ? { ...OPTIMIZED_WASM_KERNELS }
      : choice === 'baseline'
        ? { ...BASELINE_WASM_KERNELS }
        : { ...OPTIMIZED_WASM_KERNELS, ...choice };
  resolved ??= resolveSlots();
  const startedBackend = tf.findBackend(BACKEND);
  for (const { slot, on, off } of resolved) {
    const wanted = slot.option == null || options[slot.option] ? on : off;
    const current = tf.getKernel(slot.kernelName, BACKEND);
    if (current === wanted) continue;
    if (current != null) tf.unregisterKernel(slot.kernelName, BACKEND);
    if (wanted == null) continue;
    tf.registerKernel(wanted);
    // tfjs calls setupFunc only when the backend starts; a kernel swapped in later is set up here.
    if (wanted.setupFunc != null && startedBackend != null) wanted.setupFunc(startedBackend);
  }
  active = options;
  return { ...options };
}

/** The options last passed to registerWasmTrainingKernels, or null before the first call. */
export function activeWasmTrainingKernels(): WasmTrainingKernelOptions | null {
  return active == null ? null : { ...active };
}
