// The two depthwise-convolution gradients, which tfjs-backend-wasm 4.22 does not register at all, so
// any model with a (separable) depthwise conv, like core/models.ts 'compact', cannot train on wasm.
// Both are built from wasm kernels: the input gradient is a depthwise conv (XNNPACK) of the dilated dy
// with the flipped filter; the filter gradient is, per tap, a window of x times dy summed over
// batch and space (the leading axes, which trainer/backends/wasm/reduce-leading.ts sums in place).
import { tf } from '../../../core/tf.ts';
import { convGeometry, padOrCrop, transposedConvInput } from './conv-geometry.ts';

interface DepthwiseGradAttrs {
  strides: number | [number, number];
  dilations?: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}
export interface DepthwiseBackpropInputAttrs extends DepthwiseGradAttrs {
  inputShape: [number, number, number, number];
}
export interface DepthwiseBackpropFilterAttrs extends DepthwiseGradAttrs {
  filterShape: [number, number, number, number];
}

function geometry(xShape: readonly number[], filterShape: readonly number[], attrs: DepthwiseGradAttrs, kernelName: string) {
  const dilations = attrs.dilations ?? 1;
  if (!tf.backend_util.tupleValuesAreOne(dilations)) {
    throw new Error(`wasm ${kernelName} supports dilation 1 only, got ${dilations}.`);
  }
  if (xShape[3] !== filterShape[2]) {
    throw new Error(`wasm ${kernelName}: input has ${xShape[3]} channels but the filter expects ${filterShape[2]}.`);
  }
  return convGeometry(xShape, filterShape, { ...attrs, dataFormat: 'NHWC' }, kernelName);
}

/**
 * dx[n,h,w,c] = sum over a,b,m of dyDilated[n, h + padTop - a, w + padLeft - b, c*M + m] * W[a,b,c,m]:
 * for each channel multiplier m, a stride-1 depthwise conv of the dilated, padded dy channels c*M + m
 * with W[:,:,:,m] flipped in both spatial axes.
 */
export function depthwiseBackpropInput(dy: tf.Tensor4D, filter: tf.Tensor4D, attrs: DepthwiseBackpropInputAttrs): tf.Tensor4D {
  const g = geometry(attrs.inputShape, filter.shape, attrs, 'DepthwiseConv2dNativeBackpropInput');
  const [, , channels, multiplier] = filter.shape;
  return tf.tidy(() => {
    const padded = transposedConvInput(dy, g);
    const flipped = tf.reverse(filter, [0, 1]);
    if (multiplier === 1) return tf.depthwiseConv2d(padded, flipped, 1, 'valid');
    const [n, h, w] = padded.shape;
    const byMultiplier = tf.reshape(padded, [n, h, w, channels, multiplier]);
    const parts: tf.Tensor4D[] = [];
    for (let m = 0; m < multiplier; m++) {
      const dyM = tf.reshape(tf.slice(byMultiplier, [0, 0, 0, 0, m], [n, h, w, channels, 1]), [n, h, w, channels]);
      const filterM = tf.slice(flipped, [0, 0, 0, m], [g.filterHeight, g.filterWidth, channels, 1]);
      parts.push(tf.depthwiseConv2d(dyM as tf.Tensor4D, filterM, 1, 'valid'));
    }
    return tf.addN(parts);
  });
}

/**
 * dW[a,b,c,m] = sum over n,i,j of xPadded[n, i*s + a, j*s + b, c] * dy[n,i,j,c*M + m]: per tap, the
 * (strided) window of the padded input times dy, summed over the three leading axes.
 */
export function depthwiseBackpropFilter(x: tf.Tensor4D, dy: tf.Tensor4D, attrs: DepthwiseBackpropFilterAttrs): tf.Tensor4D {
  const g = geometry(x.shape, attrs.filterShape, attrs, 'DepthwiseConv2dNativeBackpropFilter');
  const [, , channels, multiplier] = attrs.filterShape;
  return tf.tidy(() => {
    const padded = padOrCrop(x, g.padTop, g.padBottom, g.padLeft, g.padRight);
    const dy5 = tf.reshape(dy, [g.batch, g.outHeight, g.outWidth, channels, multiplier]);
    const strided = g.strideHeight > 1 || g.strideWidth > 1;
    const taps: tf.Tensor[] = [];
    for (let a = 0; a < g.filterHeight; a++) {
      for (let b = 0; b < g.filterWidth; b++) {
        const window = strided
          ? tf.stridedSlice(
              padded,
              [0, a, b, 0],
              [g.batch, a + (g.outHeight - 1) * g.strideHeight + 1, b + (g.outWidth - 1) * g.strideWidth + 1, channels],
              [1, g.strideHeight, g.strideWidth, 1],
            )
          : tf.slice(padded, [0, a, b, 0], [g.batch, g.outHeight, g.outWidth, channels]);
        const window5 = tf.reshape(window, [g.batch, g.outHeight, g.outWidth, channels, 1]);
        taps.push(tf.sum(tf.mul(window5, dy5), [0, 1, 2]));
      }
    }
    return tf.reshape(tf.stack(taps), attrs.filterShape);
  });
}
