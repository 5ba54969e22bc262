// Tile for the wasm backend by block copies on the wasm heap. tfjs-wasm's Tile computes every output
// element's source index one by one; the BatchNorm gradient tiles a [1,1,1,C] tensor to the full
// activation shape several times per training step, which made it one of the biggest costs. Copying
// the input rows once and then doubling the filled region with copyWithin (a memmove) is far cheaper.
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { tf } from '../../../core/tf.ts';

type NumericArray = Float32Array | Int32Array | Uint8Array;

/** Copies out[start, start+length) into the following (times-1) blocks of the same length. */
function repeatBlock(out: NumericArray, start: number, length: number, times: number): void {
  let filled = length;
  const total = length * times;
  while (filled < total) {
    const chunk = Math.min(filled, total - filled);
    out.copyWithin(start + filled, start, start + chunk);
    filled += chunk;
  }
}

/**
 * Writes x tiled by reps into out (both row-major). For axis d, each of the x.shape[d] sub-blocks is
 * filled recursively, then the resulting block is repeated reps[d] times.
 */
export function tileInto(x: NumericArray, xShape: readonly number[], reps: readonly number[], out: NumericArray): void {
  const rank = xShape.length;
  if (rank === 0) {
    out[0] = x[0];
    return;
  }
  const outShape = xShape.map((size, d) => size * reps[d]);
  const xInner: number[] = new Array(rank);
  const outInner: number[] = new Array(rank);
  xInner[rank - 1] = 1;
  outInner[rank - 1] = 1;
  for (let d = rank - 2; d >= 0; d--) {
    xInner[d] = xInner[d + 1] * xShape[d + 1];
    outInner[d] = outInner[d + 1] * outShape[d + 1];
  }
  const fill = (d: number, src: number, dst: number): void => {
    if (d === rank - 1) {
      out.set(x.subarray(src, src + xShape[d]), dst);
    } else {
      for (let i = 0; i < xShape[d]; i++) fill(d + 1, src + i * xInner[d], dst + i * outInner[d]);
    }
    repeatBlock(out, dst, xShape[d] * outInner[d], reps[d]);
  };
  fill(0, 0, 0);
}

export function tileOnWasmHeap(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const backend = args.backend as BackendWasm;
  const x = args.inputs.x;
  if (x == null) throw new Error('Tile: input x is missing.');
  const reps = (args.attrs as unknown as tf.TileAttrs).reps;
  if (x.dtype === 'string' || x.dtype === 'complex64') {
    throw new Error(`wasm Tile does not support dtype '${x.dtype}'.`);
  }
  if (reps.length !== x.shape.length) {
    throw new Error(`Tile: reps has length ${reps.length} but x has rank ${x.shape.length}.`);
  }
  const out = backend.makeOutput(
    x.shape.map((size, d) => size * reps[d]),
    x.dtype,
  );
  if (tf.util.sizeFromShape(out.shape) === 0) return out;
  // Views are taken after makeOutput: allocating can grow the wasm memory and detach older views.
  tileInto(backend.typedArrayFromHeap(x) as NumericArray, x.shape, reps, backend.typedArrayFromHeap(out) as NumericArray);
  return out;
}
