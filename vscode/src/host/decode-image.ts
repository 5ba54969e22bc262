// Image file bytes -> RGBA pixels in the VS Code extension host: Node, but no native modules (a .vsix
// runs on any platform), so sharp, which the CLI decodes with, is out. The same checks and refusals as
// the CLI and the browser (core/image-check.ts) come first; then WebAssembly builds of the libraries
// behind sharp (libjpeg-turbo, see jpeg-turbo.ts; libwebp; lodepng and NetSurf's libnsgif for PNG and GIF; libnsbmp, which
// the CLI uses for BMP too), whose pixels equal sharp's (test/node/vscode-host.test.ts checks it).
import { decode as decodePng } from '@cwasm/lodepng';
import { decode as decodeWebp } from '@cwasm/webp';
import { decode as decodeGif } from '@cwasm/nsgif';
import { decode as decodeBmp } from '@cwasm/nsbmp';
import { checkImageBytes, IMAGE_REFUSALS, ImageFileError, type ImageType } from '../../../core/image-check.ts';
import { jpegOrientation, pngOrientation, webpOrientation } from '../../../core/image-format.ts';
import type { RgbaImage } from '../../../core/preprocess.ts';
import { decodeJpeg } from './jpeg-turbo.ts';
import { orientPixels } from './orient-pixels.ts';

type Decoder = (bytes: Uint8Array) => { data: Uint8Array | Uint8ClampedArray; width: number; height: number };

const DECODERS: Partial<Record<ImageType, Decoder>> = {
  'image/jpeg': decodeJpeg,
  'image/png': decodePng,
  'image/webp': decodeWebp,
  'image/gif': decodeGif,
  'image/bmp': decodeBmp,
};

/** EXIF orientation the decoder leaves unapplied (sharp applies it). */
function orientationOf(bytes: Uint8Array, type: ImageType): number {
  if (type === 'image/jpeg') return jpegOrientation(bytes);
  if (type === 'image/png') return pngOrientation(bytes);
  if (type === 'image/webp') return webpOrientation(bytes);
  return 1;
}

/**
 * Checks the bytes as the CLI does, then decodes them (a GIF's first frame, EXIF orientation applied).
 * Throws ImageFileError with core/image-check.ts' message, word for word the CLI's.
 */
export function decodeImageBytes(bytes: Uint8Array): RgbaImage {
  const checked = checkImageBytes(bytes);
  const decoder = DECODERS[checked.type];
  if (!decoder) {
    // AVIF: no WebAssembly AVIF decoder runs in the extension host without fetching its binary at run time.
    throw new ImageFileError(`AVIF images are read by the dermlens CLI but not yet in VS Code; convert it to PNG or JPEG first.`);
  }
  let decoded: ReturnType<Decoder>;
  try {
    decoded = decoder(bytes);
  } catch {
    throw new ImageFileError(IMAGE_REFUSALS.undecodable(checked.type, checked));
  }
  const image = {
    data: new Uint8Array(decoded.data.buffer, decoded.data.byteOffset, decoded.data.byteLength),
    width: decoded.width,
    height: decoded.height,
  };
  return orientPixels(image, orientationOf(bytes, checked.type));
}
