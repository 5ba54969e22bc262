// Finding and decoding images in Node (training data, evaluate, classify). Decoding uses sharp (libvips),
// and libnsbmp for BMP, after core/image-check.ts' checks, the extension's too; resizing is left to
// core/preprocess.ts so Node and the browser produce the same model input.
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import sharp from 'sharp';
import { decode as decodeNsBmp } from '@cwasm/nsbmp';
import { checkImageBytes, IMAGE_REFUSALS, ImageFileError, MAX_IMAGE_BYTES, MAX_PIXELS } from '../../core/image-check.ts';
import type { RgbaImage } from '../../core/preprocess.ts';

export type { RgbaImage } from '../../core/preprocess.ts';

export const IMAGE_EXTENSIONS: readonly string[] = ['.jpg', '.jpeg', '.png'];

/** Folders that archive tools add and that hold no real images (macOS resource forks). */
const IGNORED_DIRS = new Set(['__MACOSX']);

/**
 * Maps image id (file name without extension) -> path for every .jpg/.jpeg/.png below dir, at any
 * depth (the official HAM10000 download splits the images over HAM10000_images_part_1/ and _part_2/).
 * Hidden files (macOS "._x.jpg" forks) are ignored. Folders are walked in sorted order and the first
 * path wins when an id appears twice (some mirrors ship the same images in two folders), so the
 * result does not depend on the file system's listing order.
 */
export async function findImages(dir: string): Promise<Map<string, string>> {
  let top;
  try {
    top = await stat(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `image folder not found: ${dir}` : `cannot open image folder ${dir}: ${(err as Error).message}`);
  }
  if (!top.isDirectory()) throw new Error(`image folder ${dir} is not a directory`);

  const found = new Map<string, string>();
  const visited = new Set<string>();
  const walk = async (folder: string): Promise<void> => {
    const real = await realpath(folder);
    if (visited.has(real)) return; // symlink loop
    visited.add(real);
    const entries = await readdir(folder, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const path = join(folder, entry.name);
      let isDir = entry.isDirectory();
      let isFile = entry.isFile();
      if (entry.isSymbolicLink()) {
        const target = await stat(path).catch(() => null);
        isDir = target?.isDirectory() ?? false;
        isFile = target?.isFile() ?? false;
      }
      if (isDir) {
        if (!IGNORED_DIRS.has(entry.name)) await walk(path);
      } else if (isFile) {
        const ext = extname(entry.name).toLowerCase();
        if (!IMAGE_EXTENSIONS.includes(ext)) continue;
        const id = basename(entry.name, extname(entry.name));
        if (!found.has(id)) found.set(id, path);
      }
    }
  };
  await walk(dir);
  return found;
}

/**
 * A file that could not be decoded. `reason` is core/image-check.ts' message, word for word what the
 * extension shows for the same bytes; the message also names the file, for training logs.
 */
export class ImageDecodeError extends Error {
  override name = 'ImageDecodeError';
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`cannot decode ${file}: ${reason}`);
  }
}

/** The file's bytes, refusing what is not a readable regular file, or too big to read at all, before reading it. */
async function readImageFile(path: string): Promise<Uint8Array> {
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ImageDecodeError(path, code === 'ENOENT' ? 'file not found' : (err as Error).message);
  }
  if (info.isDirectory()) throw new ImageDecodeError(path, 'this is a folder, not an image file');
  if (!info.isFile()) throw new ImageDecodeError(path, 'this is not a regular file (a device, pipe or socket)');
  if (info.size > MAX_IMAGE_BYTES) throw new ImageDecodeError(path, IMAGE_REFUSALS.tooManyBytes(info.size));
  return new Uint8Array(await readFile(path));
}

/** libvips (sharp) has no BMP reader; NetSurf's libnsbmp, compiled to WebAssembly, reads uncompressed, RLE and bitfield BMPs, as Chromium does. */
function decodeBmp(bytes: Uint8Array): RgbaImage {
  const { data, width, height } = decodeNsBmp(bytes);
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width, height };
}

async function decodeWithSharp(bytes: Uint8Array): Promise<RgbaImage> {
  // The pixel limit was checked on the header already; sharp's own check stays as a second guard.
  const { data, info } = await sharp(bytes, { limitInputPixels: MAX_PIXELS, failOn: 'error', pages: 1 })
    .rotate()
    .toColourspace('srgb')
    .ensureAlpha()
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 4) throw new Error(`expected 4 channels after conversion, got ${info.channels}`);
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height };
}

/**
 * Decodes an image file (path or bytes) to 8-bit RGBA, upright according to its EXIF orientation, a
 * GIF's first frame. The bytes go through core/image-check.ts first, as in the extension: JPEG, PNG,
 * WebP, BMP, GIF and AVIF within the size limits are decoded; anything else (SVG, PDF, HTML, text,
 * truncated files, headers declaring huge sizes) is refused with the extension's message, as an
 * ImageDecodeError naming the file. Greyscale, CMYK and 16-bit inputs are converted to 8-bit sRGB.
 */
export async function decodeImage(input: string | Uint8Array): Promise<RgbaImage> {
  const what = typeof input === 'string' ? input : `image buffer (${input.length} bytes)`;
  const bytes = typeof input === 'string' ? await readImageFile(input) : input;
  let checked;
  try {
    checked = checkImageBytes(bytes);
  } catch (err) {
    if (err instanceof ImageFileError) throw new ImageDecodeError(what, err.message);
    throw err;
  }
  try {
    return checked.type === 'image/bmp' ? decodeBmp(bytes) : await decodeWithSharp(bytes);
  } catch {
    throw new ImageDecodeError(what, IMAGE_REFUSALS.undecodable(checked.type, checked));
  }
}
