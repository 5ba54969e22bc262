// Shape bookkeeping shared by the wasm convolution-gradient kernels: where the forward conv's padding
// puts each filter tap, and how much of the input each gradient formulation has to see.
import { tf } from '../../../core/tf.ts';

/** Attributes tfjs passes to Conv2DBackpropFilter / Conv2DBackpropInput kernels. */
export interface ConvGradAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

export interface ConvGeometry {
  batch: number;
  inHeight: number;
  inWidth: number;
  inChannels: number;
  outHeight: number;
  outWidth: number;
  outChannels: number;
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  /** Zero rows/columns the forward conv adds before the input (top, left). */
  padTop: number;
  padLeft: number;
  /**
   * Rows/columns to add after the input (negative: to drop) so the padded input is exactly as large as
   * the forward conv reads: (out - 1) * stride + filter. With 'valid' and a stride that does not divide
   * evenly, the forward conv never reads the last rows, hence possibly negative.
   */
  padBottom: number;
  padRight: number;
}

/** Geometry of the forward conv x[N,H,W,Ci] * filter[kh,kw,Ci,Co] whose gradient is being computed. */
export function convGeometry(
  xShape: readonly number[],
  filterShape: readonly number[],
  attrs: ConvGradAttrs,
  kernelName: string,
): ConvGeometry {
  if (attrs.dataFormat !== 'NHWC') {
    throw new Error(`wasm ${kernelName} supports dataFormat 'NHWC' only, got '${attrs.dataFormat}'.`);
  }
  if (xShape.length !== 4 || filterShape.length !== 4) {
    throw new Error(`wasm ${kernelName} needs a rank-4 input and filter, got [${xShape}] and [${filterShape}].`);
  }
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
  const neededHeight = (info.outHeight - 1) * info.strideHeight + info.filterHeight;
  const neededWidth = (info.outWidth - 1) * info.strideWidth + info.filterWidth;
  return {
    batch: info.batchSize,
    inHeight: info.inHeight,
    inWidth: info.inWidth,
    inChannels: info.inChannels,
    outHeight: info.outHeight,
    outWidth: info.outWidth,
    outChannels: info.outChannels,
    filterHeight: info.filterHeight,
    filterWidth: info.filterWidth,
    strideHeight: info.strideHeight,
    strideWidth: info.strideWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
    padBottom: neededHeight - info.inHeight - info.padInfo.top,
    padRight: neededWidth - info.inWidth - info.padInfo.left,
  };
}

/**
 * Pads an NHWC tensor's height and width with zeros where an amount is positive and crops where it is
 * negative, so callers can express "make it exactly this window" in one call.
 */
export function padOrCrop(x: tf.Tensor4D, top: number, bottom: number, left: number, right: number): tf.Tensor4D {
  return tf.tidy(() => {
    let y = x;
    if (top > 0 || bottom > 0 || left > 0 || right > 0) {
      y = tf.pad(y, [
        [0, 0],
        [Math.max(top, 0), Math.max(bottom, 0)],
        [Math.max(left, 0), Math.max(right, 0)],
        [0, 0],
      ]);
    }
    if (top < 0 || bottom < 0 || left < 0 || right < 0) {
      const [n, h, w, c] = y.shape;
      const cropTop = Math.max(-top, 0);
      const cropLeft = Math.max(-left, 0);
      y = tf.slice(y, [0, cropTop, cropLeft, 0], [n, h - cropTop - Math.max(-bottom, 0), w - cropLeft - Math.max(-right, 0), c]);
    }
    return y;
  });
}

/**
 * Spreads dy[N,OH,OW,C] onto a grid with stride-1 zeros between rows and columns, giving
 * [N, (OH-1)*sh + 1, (OW-1)*sw + 1, C]: the input of a stride-1 conv that equals the strided transpose.
 */
export function dilate(dy: tf.Tensor4D, strideHeight: number, strideWidth: number): tf.Tensor4D {
  if (strideHeight === 1 && strideWidth === 1) return dy;
  return tf.tidy(() => {
    const [n, oh, ow, c] = dy.shape;
    const spread = tf.pad(tf.reshape(dy, [n, oh, 1, ow, 1, c]), [
      [0, 0],
      [0, 0],
      [0, strideHeight - 1],
      [0, 0],
      [0, strideWidth - 1],
      [0, 0],
    ]);
    const grid = tf.reshape(spread, [n, oh * strideHeight, ow * strideWidth, c]);
    return tf.slice(grid, [0, 0, 0, 0], [n, (oh - 1) * strideHeight + 1, (ow - 1) * strideWidth + 1, c]) as tf.Tensor4D;
  });
}

/**
 * dy dilated by the strides and padded by (filter - 1 - pad) before and whatever makes the output
 * exactly the input size after: the input of the stride-1 'valid' correlation with the spatially
 * flipped filter that equals the forward conv's input gradient (plain and depthwise alike).
 */
export function transposedConvInput(dy: tf.Tensor4D, g: ConvGeometry): tf.Tensor4D {
  return tf.tidy(() => {
    const spread = dilate(dy, g.strideHeight, g.strideWidth);
    const top = g.filterHeight - 1 - g.padTop;
    const left = g.filterWidth - 1 - g.padLeft;
    // Rows after the dilated dy so the 'valid' output has exactly inHeight rows.
    const bottom = g.inHeight + g.filterHeight - 1 - top - spread.shape[1];
    const right = g.inWidth + g.filterWidth - 1 - left - spread.shape[2];
    return padOrCrop(spread, top, bottom, left, right);
  });
}
