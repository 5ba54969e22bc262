// Sum and Mean over leading axes for the wasm backend. tfjs-wasm reduces only innermost axes, so for
// axes [0,1,2] of an NHWC tensor (every BatchNorm and bias gradient) it first transposes the whole
// activation with a strided loop. Summing rows in place on the wasm heap avoids that copy.
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { tf } from '../../../core/tf.ts';

/** Number of leading axes reduced, or 0 if `axes` is not exactly [0, 1, ..., k-1] with k < rank. */
export function leadingAxesCount(axes: number[], rank: number): number {
  const sorted = [...new Set(axes)].sort((p, q) => p - q);
  if (sorted.length === 0 || sorted.length >= rank) return 0;
  return sorted.every((axis, i) => axis === i) ? sorted.length : 0;
}

const ROW_BLOCK = 64;

/**
 * out[c] = scale * sum over r of x[r * cols + c], accumulated in float64. Rows go in blocks that stay in
 * L1 cache, and within a block four columns at a time are summed in local variables (registers), which
 * V8 runs several times faster than read-modify-writing an accumulator array per element.
 */
export function sumRows(x: Float32Array, rows: number, cols: number, scale: number, out: Float32Array): void {
  const acc = new Float64Array(cols);
  const wide = cols - (cols % 4);
  for (let r0 = 0; r0 < rows; r0 += ROW_BLOCK) {
    const end = Math.min(rows, r0 + ROW_BLOCK) * cols;
    for (let c = 0; c < wide; c += 4) {
      let s0 = 0,
        s1 = 0,
        s2 = 0,
        s3 = 0;
      for (let i = r0 * cols + c; i < end; i += cols) {
        s0 += x[i];
        s1 += x[i + 1];
        s2 += x[i + 2];
        s3 += x[i + 3];
      }
      acc[c] += s0;
      acc[c + 1] += s1;
      acc[c + 2] += s2;
      acc[c + 3] += s3;
    }
    for (let c = wide; c < cols; c++) {
      let s = 0;
      for (let i = r0 * cols + c; i < end; i += cols) s += x[i];
      acc[c] += s;
    }
  }
  for (let c = 0; c < cols; c++) out[c] = acc[c] * scale;
}

function makeLeadingReduction(stock: tf.KernelFunc, mean: boolean): tf.KernelFunc {
  return (args) => {
    const backend = args.backend as BackendWasm;
    const x = args.inputs.x;
    if (x == null) throw new Error(`${mean ? 'Mean' : 'Sum'}: input x is missing.`);
    const { axis, keepDims } = args.attrs as unknown as tf.SumAttrs;
    const axes = tf.util.parseAxisParam(axis, x.shape);
    const k = leadingAxesCount(axes, x.shape.length);
    if (k === 0 || x.dtype !== 'float32' || tf.util.sizeFromShape(x.shape) === 0) return stock(args);
    const rows = tf.util.sizeFromShape(x.shape.slice(0, k));
    const keptShape = x.shape.slice(k);
    const outShape = keepDims ? [...x.shape.slice(0, k).map(() => 1), ...keptShape] : keptShape;
    const out = backend.makeOutput(outShape, 'float32');
    // Heap views only after makeOutput, which may grow (and detach) the wasm memory.
    sumRows(
      backend.typedArrayFromHeap(x) as Float32Array,
      rows,
      tf.util.sizeFromShape(keptShape),
      mean ? 1 / rows : 1,
      backend.typedArrayFromHeap(out) as Float32Array,
    );
    return out;
  };
}

export const makeSumKernel = (stock: tf.KernelFunc) => makeLeadingReduction(stock, false);
export const makeMeanKernel = (stock: tf.KernelFunc) => makeLeadingReduction(stock, true);
