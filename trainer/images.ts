// Finding and decoding the training images in Node. Decoding uses sharp (libvips); resizing is left
// to core/preprocess.ts so Node and the browser produce the same model input.
import { readdir, realpath, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import sharp from 'sharp';
import type { RgbaImage } from '../core/preprocess.ts';

export type { RgbaImage } from '../core/preprocess.ts';

export const IMAGE_EXTENSIONS: readonly string[] = ['.jpg', '.jpeg', '.png'];

/** Larger inputs are refused before decoding: a dermoscopy photo is a few MP; 50 MP of RGBA is 200 MB. */
export const MAX_INPUT_PIXELS = 50_000_000;

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
 * Decodes a JPEG/PNG (path or bytes) to 8-bit RGBA, upright according to its EXIF orientation.
 * Greyscale, CMYK and 16-bit inputs are converted to 8-bit sRGB. Corrupt, unsupported or oversized
 * images are rejected with an error that names the file.
 */
export async function decodeImage(input: string | Buffer, opts: { maxPixels?: number } = {}): Promise<RgbaImage> {
  const what = typeof input === 'string' ? input : `image buffer (${input.length} bytes)`;
  const maxPixels = opts.maxPixels ?? MAX_INPUT_PIXELS;
  try {
    const { data, info } = await sharp(input, { limitInputPixels: maxPixels, failOn: 'error' })
      .rotate()
      .toColourspace('srgb')
      .ensureAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 4) throw new Error(`expected 4 channels after conversion, got ${info.channels}`);
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height };
  } catch (err) {
    const message = (err as Error).message;
    if (/pixel limit/i.test(message)) {
      throw new Error(`cannot decode ${what}: image is larger than ${maxPixels / 1e6} megapixels (${message})`);
    }
    if (typeof input === 'string' && /^Input file is missing/i.test(message)) {
      throw new Error(`cannot decode ${what}: file not found`);
    }
    throw new Error(`cannot decode ${what}: ${message}`);
  }
}
