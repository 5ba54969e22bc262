// Conv2DBackpropInput for the wasm backend as a forward convolution. tfjs-backend-wasm 4.22 has its own
// kernel, but it is a plain C++ loop; this one hands the work to the wasm Conv2D (XNNPACK) kernel.
import { tf } from '../../core/tf.ts';
import { convGeometry, padOrCrop, type ConvGradAttrs } from './conv-geometry.ts';

export interface BackpropInputAttrs extends ConvGradAttrs {
  inputShape: [number, number, number, number];
}

/**
 * Spreads dy[N,OH,OW,C] onto a grid with stride-1 zeros between rows and columns, giving
 * [N, (OH-1)*sh + 1, (OW-1)*sw + 1, C]: the input of a stride-1 conv that equals the strided transpose.
 */
export function dilate(dy: tf.Tensor4D, strideHeight: number, strideWidth: number): tf.Tensor4D {
  if (strideHeight === 1 && strideWidth === 1) return dy;
  return tf.tidy(() => {
    const [n, oh, ow, c] = dy.shape;
    const spread = tf.pad(tf.reshape(dy, [n, oh, 1, ow, 1, c]),
      [[0, 0], [0, 0], [0, strideHeight - 1], [0, 0], [0, strideWidth - 1], [0, 0]]);
    const grid = tf.reshape(spread, [n, oh * strideHeight, ow * strideWidth, c]);
    return tf.slice(grid, [0, 0, 0, 0], [n, (oh - 1) * strideHeight + 1, (ow - 1) * strideWidth + 1, c]) as tf.Tensor4D;
  });
}

/**
 * dx[n,h,w,ci] = sum_{a,b,co} dyDilated[n, h + padTop - a, w + padLeft - b, co] * W[a,b,ci,co]
 * which is a stride-1 correlation of the dilated dy, padded by (k - 1 - pad) before, with the filter
 * flipped in both spatial axes and its channel axes swapped ([kh,kw,Co,Ci]).
 */
export function backpropInputByConv(dy: tf.Tensor4D, filter: tf.Tensor4D, attrs: BackpropInputAttrs): tf.Tensor4D {
  const g = convGeometry(attrs.inputShape, filter.shape, attrs, 'Conv2DBackpropInput');
  return tf.tidy(() => {
    const spread = dilate(dy, g.strideHeight, g.strideWidth);
    const top = g.filterHeight - 1 - g.padTop;
    const left = g.filterWidth - 1 - g.padLeft;
    // Rows after the dilated dy so the 'valid' output has exactly inHeight rows.
    const bottom = g.inHeight + g.filterHeight - 1 - top - spread.shape[1];
    const right = g.inWidth + g.filterWidth - 1 - left - spread.shape[2];
    const padded = padOrCrop(spread, top, bottom, left, right);
    const flipped = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]);
    return tf.conv2d(padded, flipped, 1, 'valid');
  });
}
