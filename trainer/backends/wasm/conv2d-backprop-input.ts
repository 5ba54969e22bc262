// Conv2DBackpropInput for the wasm backend as a forward convolution. tfjs-backend-wasm 4.22 has its own
// kernel, but it is a plain C++ loop; this one hands the work to the wasm Conv2D (XNNPACK) kernel.
import { tf } from '../../../core/tf.ts';
import { convGeometry, transposedConvInput, type ConvGradAttrs } from './conv-geometry.ts';

export interface BackpropInputAttrs extends ConvGradAttrs {
  inputShape: [number, number, number, number];
}

/**
 * dx[n,h,w,ci] = sum_{a,b,co} dyDilated[n, h + padTop - a, w + padLeft - b, co] * W[a,b,ci,co]
 * which is a stride-1 correlation of the dilated dy, padded by (k - 1 - pad) before, with the filter
 * flipped in both spatial axes and its channel axes swapped ([kh,kw,Co,Ci]).
 */
export function backpropInputByConv(dy: tf.Tensor4D, filter: tf.Tensor4D, attrs: BackpropInputAttrs): tf.Tensor4D {
  const g = convGeometry(attrs.inputShape, filter.shape, attrs, 'Conv2DBackpropInput');
  return tf.tidy(() => {
    const padded = transposedConvInput(dy, g);
    const flipped = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]);
    return tf.conv2d(padded, flipped, 1, 'valid');
  });
}
