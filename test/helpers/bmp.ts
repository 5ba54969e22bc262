// Decodes the uncompressed 24-bit BMPs among the backbone's check photos (test-only; the CLI's
// image formats are trainer/data/images.ts').
import type { RgbaImage } from '../../core/preprocess.ts';

export function decodeBmp24(bytes: Uint8Array, name: string): RgbaImage {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint16(0, false) !== 0x424d) throw new Error(`${name} is not a BMP file`);
  const dataOffset = view.getUint32(10, true);
  const width = view.getInt32(18, true);
  const rawHeight = view.getInt32(22, true);
  if (view.getUint16(28, true) !== 24 || view.getUint32(30, true) !== 0)
    throw new Error(`${name}: only uncompressed 24-bit BMPs are handled here`);
  const height = Math.abs(rawHeight);
  const stride = Math.ceil((width * 3) / 4) * 4;
  const data = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    const row = dataOffset + (rawHeight > 0 ? height - 1 - y : y) * stride; // positive height: bottom-up
    for (let x = 0; x < width; x++) {
      const p = row + x * 3;
      data.set([bytes[p + 2], bytes[p + 1], bytes[p], 255], (y * width + x) * 4);
    }
  }
  return { data, width, height };
}
