// Turns decoded RGBA pixels upright for an EXIF orientation (2-8), as sharp's .rotate() does for the
// CLI: quarter turns and mirrors move whole pixels, so the result is exact.
import type { RgbaImage } from '../../../core/preprocess.ts';

/**
 * Where the output pixel (x, y) of a w x h upright image reads from in the stored image (sw x sh),
 * per EXIF orientation; 5-8 swap width and height.
 */
const SOURCE: Record<number, (x: number, y: number, sw: number, sh: number) => number> = {
  2: (x, y, sw) => y * sw + (sw - 1 - x), // mirrored
  3: (x, y, sw, sh) => (sh - 1 - y) * sw + (sw - 1 - x), // upside down
  4: (x, y, sw, sh) => (sh - 1 - y) * sw + x, // flipped vertically
  5: (x, y, sw) => x * sw + y, // transposed
  6: (x, y, sw, sh) => (sh - 1 - x) * sw + y, // rotated 90 degrees clockwise
  7: (x, y, sw, sh) => (sh - 1 - x) * sw + (sw - 1 - y), // transversed
  8: (x, y, sw) => x * sw + (sw - 1 - y), // rotated 90 degrees counter-clockwise
};

export function orientPixels(image: RgbaImage, orientation: number): RgbaImage {
  const source = SOURCE[orientation];
  if (!source) return image;
  const { width: sw, height: sh, data } = image;
  const [width, height] = orientation >= 5 ? [sh, sw] : [sw, sh];
  const out = new Uint8Array(width * height * 4);
  const aligned = data.byteOffset % 4 === 0 ? data : data.slice(); // Uint32Array views need 4-byte alignment
  const pixels = new Uint32Array(aligned.buffer, aligned.byteOffset, sw * sh);
  const target = new Uint32Array(out.buffer);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) target[y * width + x] = pixels[source(x, y, sw, sh)];
  return { data: out, width, height };
}
