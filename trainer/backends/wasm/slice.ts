// Slice for the wasm backend that reads its input in place. tfjs-wasm's Slice starts with
// backend.readSync(x), which copies the WHOLE input out of the wasm heap before copying the slice, so
// taking k small slices of a big tensor costs k full copies. This one copies only the slice, as runs of
// contiguous elements (the innermost axes the slice takes whole are merged into one run).
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { tf } from '../../../core/tf.ts';

type NumericArray = Float32Array | Int32Array | Uint8Array;

/** Copies the [begin, begin+size) box of x (row-major, shape xShape) into out. */
export function sliceInto(
  x: NumericArray,
  xShape: readonly number[],
  begin: readonly number[],
  size: readonly number[],
  out: NumericArray,
): void {
  const rank = xShape.length;
  if (rank === 0) {
    out[0] = x[0];
    return;
  }
  const strides: number[] = new Array(rank);
  strides[rank - 1] = 1;
  for (let d = rank - 2; d >= 0; d--) strides[d] = strides[d + 1] * xShape[d + 1];
  // Axis `last` is the innermost one that is not taken whole; a run covers it and everything inside.
  let last = rank - 1;
  while (last > 0 && begin[last] === 0 && size[last] === xShape[last]) last--;
  const run = size[last] * strides[last];
  let outOffset = 0;
  const index = begin.slice(0, last); // odometer over the axes outside the run
  const outer = size.slice(0, last).reduce((p, q) => p * q, 1);
  for (let n = 0; n < outer; n++) {
    let xOffset = begin[last] * strides[last];
    for (let d = 0; d < last; d++) xOffset += index[d] * strides[d];
    out.set(x.subarray(xOffset, xOffset + run), outOffset);
    outOffset += run;
    for (let d = last - 1; d >= 0; d--) {
      if (++index[d] < begin[d] + size[d]) break;
      index[d] = begin[d];
    }
  }
}

export function makeSliceKernel(stock: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const backend = args.backend as BackendWasm;
    const x = args.inputs.x;
    if (x == null) throw new Error('Slice: input x is missing.');
    if (x.dtype === 'string' || x.dtype === 'complex64') return stock(args);
    const { begin, size } = args.attrs as unknown as tf.SliceAttrs;
    const [begin_, size_] = tf.slice_util.parseSliceParams(x, begin, size);
    tf.slice_util.assertParamsValid(x, begin_, size_);
    const out = backend.makeOutput(size_, x.dtype);
    if (tf.util.sizeFromShape(size_) === 0) return out;
    // Heap views only after makeOutput, which may grow (and detach) the wasm memory.
    sliceInto(backend.typedArrayFromHeap(x) as NumericArray, x.shape, begin_, size_, backend.typedArrayFromHeap(out) as NumericArray);
    return out;
  };
}
