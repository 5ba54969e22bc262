// Image file bytes -> RGBA pixels in the browser (offscreen document, popup, tests). The same pixels
// sharp gives the trainer in Node: EXIF orientation applied (sharp's .rotate(); Chromium skips WebP's, so
// it is applied here), colour converted to
// sRGB (sharp's .toColourspace('srgb')), RGBA 8 bits per channel, not premultiplied.
import type { RgbaImage } from '../../core/preprocess.ts';
import { checkImageBytes, IMAGE_REFUSALS, ImageFileError, type CheckOptions, type ImageType } from '../../core/image-check.ts';
import { webpOrientation } from '../../core/image-format.ts';

export interface DecodedImage {
  image: RgbaImage;
  type: ImageType;
}

/**
 * Checks the bytes (core/image-check.ts: format, header size, limits, completeness) before decoding, as
 * the CLI does, then decodes with createImageBitmap (a GIF's first frame, EXIF orientation applied)
 * and reads the pixels back through a 2D canvas. Throws ImageFileError with a readable message for
 * anything that is not a decodable image within the limits.
 */
export async function decodeImageBytes(bytes: Uint8Array, declaredMime: string, options: CheckOptions = {}): Promise<DecodedImage> {
  const { type, width, height } = checkImageBytes(bytes, declaredMime, options);
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(new Blob([bytes as Uint8Array<ArrayBuffer>], { type }), {
      imageOrientation: 'from-image',
      premultiplyAlpha: 'none',
      colorSpaceConversion: 'default',
    });
  } catch {
    throw new ImageFileError(IMAGE_REFUSALS.undecodable(type, { width, height }));
  }
  try {
    return { image: bitmapToRgba(bitmap, type === 'image/webp' ? webpOrientation(bytes) : 1), type };
  } finally {
    bitmap.close();
  }
}

/**
 * Canvas transforms (a, b, c, d, e, f) that show a w x h bitmap upright for EXIF orientations 2-8:
 * display x = a*x + c*y + e, display y = b*x + d*y + f. 5-8 swap width and height.
 */
const ORIENTATIONS: Record<number, (w: number, h: number) => [number, number, number, number, number, number]> = {
  2: (w) => [-1, 0, 0, 1, w, 0], // mirrored
  3: (w, h) => [-1, 0, 0, -1, w, h], // upside down
  4: (_w, h) => [1, 0, 0, -1, 0, h], // flipped vertically
  5: () => [0, 1, 1, 0, 0, 0], // transposed
  6: (_w, h) => [0, 1, -1, 0, h, 0], // rotate 90 degrees clockwise
  7: (w, h) => [0, -1, -1, 0, h, w], // transversed
  8: (w) => [0, -1, 1, 0, 0, w], // rotate 90 degrees counter-clockwise
};

/**
 * Draws a decoded bitmap (or a video frame's bitmap) onto a canvas and reads back its RGBA pixels,
 * turned upright for an EXIF `orientation` the browser's decoder left unapplied (WebP's).
 */
export function bitmapToRgba(bitmap: ImageBitmap, orientation = 1): RgbaImage {
  const transform = ORIENTATIONS[orientation]?.(bitmap.width, bitmap.height);
  const swap = orientation >= 5 && transform !== undefined;
  const [width, height] = swap ? [bitmap.height, bitmap.width] : [bitmap.width, bitmap.height];
  const canvas = new OffscreenCanvas(width, height);
  const context = canvas.getContext('2d', { willReadFrequently: true });
  if (!context) throw new Error('Could not create a 2D canvas to read the image pixels.');
  if (transform) {
    context.imageSmoothingEnabled = false; // quarter turns and flips move whole pixels
    context.setTransform(...transform);
  }
  context.drawImage(bitmap, 0, 0);
  const { data } = context.getImageData(0, 0, width, height, { colorSpace: 'srgb' });
  return { data, width, height };
}
