// MaxPoolGrad for the wasm backend in one pass over the pooling windows. tfjs-wasm's kernel visits
// every input pixel and searches all windows covering it; and on ties (common: ReLU zeros) it sends
// the gradient to the LAST maximum, while the cpu backend and TensorFlow send it to the FIRST. This
// one finds each window's first maximum and adds dy there, matching the cpu backend exactly.
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { tf } from '../../../core/tf.ts';

export interface PoolGeometry {
  batchSize: number;
  inHeight: number;
  inWidth: number;
  channels: number;
  outHeight: number;
  outWidth: number;
  strideHeight: number;
  strideWidth: number;
  filterHeight: number;
  filterWidth: number;
  padTop: number;
  padLeft: number;
}

/** dx (zeroed here) gets dy of each window added at that window's first maximal x, per channel. */
export function maxPoolGradInto(x: Float32Array, dy: Float32Array, dx: Float32Array, g: PoolGeometry): void {
  dx.fill(0);
  const c = g.channels;
  const best = new Float32Array(c);
  const where = new Int32Array(c);
  for (let b = 0; b < g.batchSize; b++) {
    const xBatch = b * g.inHeight * g.inWidth * c;
    for (let yR = 0; yR < g.outHeight; yR++) {
      const rStart = yR * g.strideHeight - g.padTop;
      const rFrom = Math.max(rStart, 0);
      const rTo = Math.min(rStart + g.filterHeight, g.inHeight);
      for (let yC = 0; yC < g.outWidth; yC++) {
        const cStart = yC * g.strideWidth - g.padLeft;
        const cFrom = Math.max(cStart, 0);
        const cTo = Math.min(cStart + g.filterWidth, g.inWidth);
        best.fill(-Infinity);
        where.fill(-1);
        // Row-major window order with a strict '>' keeps the first maximum, as the cpu backend does.
        for (let r = rFrom; r < rTo; r++) {
          for (let col = cFrom; col < cTo; col++) {
            const base = xBatch + (r * g.inWidth + col) * c;
            for (let d = 0; d < c; d++) {
              const v = x[base + d];
              if (v > best[d]) {
                best[d] = v;
                where[d] = base + d;
              }
            }
          }
        }
        const dyBase = ((b * g.outHeight + yR) * g.outWidth + yC) * c;
        for (let d = 0; d < c; d++) if (where[d] >= 0) dx[where[d]] += dy[dyBase + d];
      }
    }
  }
}

export function maxPoolGradOnWasmHeap(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const backend = args.backend as BackendWasm;
  const { dy, input } = args.inputs;
  if (dy == null || input == null) throw new Error('MaxPoolGrad: inputs dy and input are required.');
  if (input.shape.length !== 4) throw new Error(`MaxPoolGrad: input must be rank 4 (NHWC), got [${input.shape}].`);
  const { filterSize, strides, pad, dimRoundingMode } = args.attrs as unknown as tf.MaxPoolGradAttrs;
  const info = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    filterSize,
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  const dx = backend.makeOutput(input.shape, 'float32');
  maxPoolGradInto(
    backend.typedArrayFromHeap(input) as Float32Array,
    backend.typedArrayFromHeap(dy) as Float32Array,
    backend.typedArrayFromHeap(dx) as Float32Array,
    {
      batchSize: info.batchSize,
      inHeight: info.inHeight,
      inWidth: info.inWidth,
      channels: info.inChannels,
      outHeight: info.outHeight,
      outWidth: info.outWidth,
      strideHeight: info.strideHeight,
      strideWidth: info.strideWidth,
      filterHeight: info.effectiveFilterHeight,
      filterWidth: info.effectiveFilterWidth,
      padTop: info.padInfo.top,
      padLeft: info.padInfo.left,
    },
  );
  return dx;
}
