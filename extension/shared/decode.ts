// Image file bytes -> RGBA pixels in the browser (offscreen document, popup, tests). The same pixels
// sharp gives the trainer in Node: EXIF orientation applied (sharp's .rotate()), colour converted to
// sRGB (sharp's .toColourspace('srgb')), RGBA 8 bits per channel, not premultiplied.
import type { RgbaImage } from '../../core/preprocess.ts';
import { checkImageBytes, ImageFileError, typeLabel, type CheckOptions, type SniffedType } from './image-bytes.ts';

export interface DecodedImage {
  image: RgbaImage;
  type: SniffedType;
}

/**
 * Checks the bytes (format, header size, limits) before decoding, then decodes with createImageBitmap
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
    throw new ImageFileError(`The ${typeLabel(type)} image (${width}x${height}) is corrupt or truncated and could not be decoded.`);
  }
  try {
    return { image: bitmapToRgba(bitmap), type };
  } finally {
    bitmap.close();
  }
}

/** Draws a decoded bitmap (or a video frame's bitmap) onto a canvas and reads back its RGBA pixels. */
export function bitmapToRgba(bitmap: ImageBitmap): RgbaImage {
  const { width, height } = bitmap;
  const canvas = new OffscreenCanvas(width, height);
  const context = canvas.getContext('2d', { willReadFrequently: true });
  if (!context) throw new Error('Could not create a 2D canvas to read the image pixels.');
  context.drawImage(bitmap, 0, 0);
  const { data } = context.getImageData(0, 0, width, height, { colorSpace: 'srgb' });
  return { data, width, height };
}
