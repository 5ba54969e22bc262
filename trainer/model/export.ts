// Exports a trained model in TF.js layers format (model.json + <= 4 MiB shards) with the DermLens
// metadata core/classifier.ts reads, optionally with float16 or uint8 weight quantization.
// tfjs 4.22 can decode quantized weights (io_utils.decodeWeights) but has no encoder in JS (the Python
// converter does it), so the weight data is re-encoded here in the same format.
import { tf } from '../../core/tf.ts';
import type { ModelMetadata } from '../../core/model-metadata.ts';
import { fileSaveHandler } from '../run/model-files.ts';

import type { Quantization } from '../run/config.ts';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE 754 binary32 -> binary16 bits, round to nearest even, with overflow to infinity and subnormals. */
export function float32ToFloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // inf / nan
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow -> inf
  if (e <= 0) {
    if (e < -10) return sign; // underflow -> signed zero
    mant |= 0x800000; // implicit leading 1
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = mant & ((1 << shift) - 1);
    let h = mant >>> shift;
    if (rest > half || (rest === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && h & 1)) h++; // may carry into the exponent: still correct
  return sign | h;
}

/** Re-encodes float32 weights as float16 or affine uint8 (per tensor: q = round((v - min) / scale)). */
export function quantizeWeights(
  specs: readonly tf.io.WeightsManifestEntry[],
  data: ArrayBuffer,
  dtype: 'float16' | 'uint8',
): { specs: tf.io.WeightsManifestEntry[]; data: ArrayBuffer } {
  const outSpecs: tf.io.WeightsManifestEntry[] = [];
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const spec of specs) {
    const count = spec.shape.reduce((a, b) => a * b, 1);
    if (spec.quantization) throw new Error(`quantizeWeights: weight ${spec.name} is already quantized`);
    const bytes = count * 4;
    if (spec.dtype !== 'float32') {
      // int32/bool weights are copied as they are (none in our models, but keep the format valid).
      const size = spec.dtype === 'bool' ? count : bytes;
      chunks.push(new Uint8Array(data.slice(offset, offset + size)));
      outSpecs.push({ ...spec });
      offset += size;
      continue;
    }
    const values = new Float32Array(data.slice(offset, offset + bytes));
    offset += bytes;
    if (dtype === 'float16') {
      const half = new Uint16Array(count);
      for (let i = 0; i < count; i++) half[i] = float32ToFloat16Bits(values[i]);
      chunks.push(new Uint8Array(half.buffer));
      outSpecs.push({ ...spec, quantization: { dtype: 'float16' } });
    } else {
      let min = Infinity;
      let max = -Infinity;
      for (const v of values) {
        if (v < min) min = v;
        if (v > max) max = v;
      }
      if (count === 0) {
        min = 0;
        max = 0;
      }
      // A constant tensor (e.g. BN gamma at init) gets scale 1 so decoding gives back exactly min.
      const scale = max > min ? (max - min) / 255 : 1;
      const q = new Uint8Array(count);
      for (let i = 0; i < count; i++) q[i] = Math.max(0, Math.min(255, Math.round((values[i] - min) / scale)));
      chunks.push(q);
      outSpecs.push({ ...spec, quantization: { dtype: 'uint8', min, scale } });
    }
  }
  if (offset !== data.byteLength) throw new Error(`quantizeWeights: specs describe ${offset} bytes, data has ${data.byteLength}`);
  const total = chunks.reduce((a, c) => a + c.byteLength, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return { specs: outSpecs, data: out.buffer };
}

/**
 * Saves the model to dir (model.json + shards) with userDefinedMetadata.dermlens = metadata.
 */
export async function exportModel(
  model: tf.LayersModel,
  dir: string,
  metadata: ModelMetadata,
  quantize: Quantization = 'none',
): Promise<void> {
  model.setUserDefinedMetadata({ dermlens: metadata });
  const target = fileSaveHandler(dir);
  await model.save({
    save: async (artifacts: tf.io.ModelArtifacts) => {
      if (quantize === 'none') return target.save!(artifacts);
      const data = new tf.io.CompositeArrayBuffer(artifacts.weightData ?? []).slice();
      const q = quantizeWeights(artifacts.weightSpecs ?? [], data, quantize);
      return target.save!({ ...artifacts, weightSpecs: q.specs, weightData: q.data });
    },
  });
}
