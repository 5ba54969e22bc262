// A faster Conv2DBackpropFilter for the pure-JS cpu backend, so training on `--backend cpu` (tests, CI
// without tfjs-node) is usable. The stock kernel reads every operand through TensorBuffer.get() and is
// ~90% of a cpu training step; this one walks the flat typed arrays with the output channel innermost
// (contiguous in both dy and dW) and skips zero inputs (common after ReLU). Same maths, summed in float64.
import { tf } from '../../core/tf.ts';

const KERNEL = 'Conv2DBackpropFilter';
const BACKEND = 'cpu';

interface CpuBackendLike {
  data: { get(dataId: object): { values: ArrayLike<number> } };
  makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): tf.TensorInfo;
}

interface Attrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

let stockKernel: tf.KernelConfig | undefined;

export function fastConv2DBackpropFilter(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: unknown }): tf.TensorInfo {
  const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const attrs = args.attrs as unknown as Attrs;
  const backend = args.backend as CpuBackendLike;
  const dataFormat = tf.backend_util.convertConv2DDataFormat(attrs.dataFormat);
  if (dataFormat !== 'channelsLast' || stockKernel == null) {
    // The layers API only produces NHWC; anything else goes to the stock kernel unchanged.
    if (stockKernel == null) throw new Error('fastConv2DBackpropFilter: stock cpu kernel not found.');
    return stockKernel.kernelFunc(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
  }
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    dataFormat,
  );
  const xv = backend.data.get(x.dataId).values;
  const dyv = backend.data.get(dy.dataId).values;
  const {
    batchSize,
    inHeight,
    inWidth,
    inChannels,
    outHeight,
    outWidth,
    outChannels,
    filterHeight,
    filterWidth,
    strideHeight,
    strideWidth,
  } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const acc = new Float64Array(filterHeight * filterWidth * inChannels * outChannels);

  for (let b = 0; b < batchSize; b++) {
    for (let yR = 0; yR < outHeight; yR++) {
      for (let fR = 0; fR < filterHeight; fR++) {
        const xR = yR * strideHeight + fR - top;
        if (xR < 0 || xR >= inHeight) continue;
        for (let yC = 0; yC < outWidth; yC++) {
          const dyOff = ((b * outHeight + yR) * outWidth + yC) * outChannels;
          for (let fC = 0; fC < filterWidth; fC++) {
            const xC = yC * strideWidth + fC - left;
            if (xC < 0 || xC >= inWidth) continue;
            const xOff = ((b * inHeight + xR) * inWidth + xC) * inChannels;
            const wBase = (fR * filterWidth + fC) * inChannels;
            for (let ic = 0; ic < inChannels; ic++) {
              const xval = xv[xOff + ic];
              if (xval === 0) continue;
              const wOff = (wBase + ic) * outChannels;
              for (let oc = 0; oc < outChannels; oc++) acc[wOff + oc] += xval * dyv[dyOff + oc];
            }
          }
        }
      }
    }
  }
  return backend.makeTensorInfo(info.filterShape, 'float32', Float32Array.from(acc));
}

/**
 * Replaces the cpu backend's Conv2DBackpropFilter with the fast one. Idempotent. Returns the stock kernel
 * config (for tests that compare the two).
 */
export function installFastCpuKernels(): tf.KernelConfig {
  const current = tf.getKernel(KERNEL, BACKEND);
  if (current == null) throw new Error('The cpu backend is not loaded (import @tensorflow/tfjs-backend-cpu first).');
  if (current.kernelFunc !== (fastConv2DBackpropFilter as unknown as tf.KernelFunc)) {
    stockKernel = current;
    tf.unregisterKernel(KERNEL, BACKEND);
    tf.registerKernel({ kernelName: KERNEL, backendName: BACKEND, kernelFunc: fastConv2DBackpropFilter as unknown as tf.KernelFunc });
  }
  return stockKernel!;
}
