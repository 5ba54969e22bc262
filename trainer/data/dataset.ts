// Loads the labelled images into one Float32Array of model inputs, decoding each file once, and
// optionally caches the result on disk so the next run (or a resumed one) skips decoding entirely.
import { createHash } from 'node:crypto';
import * as zlib from 'node:zlib';
import { mkdir, open, readdir, rename, rm, stat, utimes, type FileHandle } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { tf } from '../../core/tf.ts';
import { NUM_CLASSES } from '../../core/labels.ts';
import {
  canonicalInputSize,
  formatInputSize,
  inputShape,
  preprocess,
  preprocessVersion,
  type InputShape,
  type InputSize,
} from '../../core/preprocess.ts';
import { decodeImage, findImages } from './images.ts';
import type { LabelledImage } from './metadata.ts';

export interface Dataset {
  /** The model input the pixels were prepared for (width = height for a square model). */
  shape: InputShape;
  /** The images that loaded, in the order of the requested list. */
  items: LabelledImage[];
  /** items.length * height * width * 3 values in [0, 1], HWC per image, as core/preprocess.ts produces them. */
  pixels: Float32Array;
  /** Requested images that are missing or could not be decoded, with the reason. */
  skipped: { imageId: string; reason: string }[];
  /** What happened with the disk cache: 'off' (no cacheDir), 'hit', 'miss' (built and written), or 'rebuilt' (a bad cache file was replaced). */
  cache: { status: 'off' | 'hit' | 'miss' | 'rebuilt'; path?: string; note?: string };
}

export interface LoadDatasetOptions {
  images: readonly LabelledImage[];
  imageDir: string;
  /** The model input: a side for a square input, or width x height. */
  size: InputSize;
  cacheDir?: string;
  onProgress?: (done: number, total: number) => void;
  /** Images decoded at once (sharp decodes on libuv's thread pool). Default 4. */
  concurrency?: number;
  /** The cache folder's cap in bytes (CACHE_MAX_BYTES by default): older cache files go first. */
  cacheMaxBytes?: number;
}

/**
 * The pixel cache's default cap: HAM10000 at 128 px is 2 GB, at 160x120 2.4 GB. Without a cap every change of
 * the images' mtimes (a data folder copied again) leaves a stale file behind for good.
 */
export const CACHE_MAX_BYTES = 12 * 1024 ** 3;
const CACHE_FILE = /^dataset-.*\.bin$/;

/**
 * Keeps the cache folder under maxBytes: its dataset-*.bin files, most recently used first (a hit touches its
 * file), are kept while they fit; the rest are deleted. `keep` (the file just used) always stays. Returns the
 * names deleted; a file that cannot be read or deleted is left alone.
 */
export async function pruneCache(cacheDir: string, keep: string, maxBytes: number): Promise<string[]> {
  const names = (await readdir(cacheDir)).filter((n) => CACHE_FILE.test(n));
  const files = (
    await Promise.all(
      names.map(async (name) => {
        const path = join(cacheDir, name);
        const s = await stat(path).catch(() => null);
        return s?.isFile() ? { name, path, bytes: s.size, used: s.mtimeMs } : null;
      }),
    )
  ).filter((f) => f !== null);
  files.sort((a, b) => (a.path === keep ? -1 : b.path === keep ? 1 : b.used - a.used));
  const deleted: string[] = [];
  let kept = 0;
  for (const f of files) {
    if (f.path === keep || kept + f.bytes <= maxBytes) {
      kept += f.bytes;
      continue;
    }
    try {
      await rm(f.path);
      deleted.push(f.name);
    } catch {
      // Another process removed or holds it: leave it.
    }
  }
  return deleted;
}

/** Bump when the cache file layout changes. */
const CACHE_FORMAT = 'dermlens-dataset-cache-v2';
const MAGIC = Buffer.from('DLDSCACHE1\n');

interface CacheHeader {
  format: string;
  key: string;
  /** canonicalInputSize: the side of a square input (as before non-square inputs), "WxH" otherwise. */
  size: number | string;
  preprocessVersion: string;
  loaded: string[];
  skipped: { imageId: string; reason: string }[];
  dataBytes: number;
  checksumAlgorithm: string;
  checksum: string;
}

interface Source {
  item: LabelledImage;
  path?: string;
  /** size:mtime of the file, so an edited or replaced image invalidates the cache. */
  stamp?: string;
}

async function locate(images: readonly LabelledImage[], imageDir: string): Promise<Source[]> {
  const seen = new Set<string>();
  for (const item of images) {
    if (seen.has(item.imageId)) throw new Error(`loadDataset: image ${item.imageId} is listed twice`);
    seen.add(item.imageId);
  }
  const paths = await findImages(imageDir);
  const sources: Source[] = images.map((item) => ({ item, path: paths.get(item.imageId) }));
  // Stat in chunks: 10k parallel stats would open too many handles at once on some systems.
  for (let i = 0; i < sources.length; i += 256) {
    await Promise.all(
      sources.slice(i, i + 256).map(async (s) => {
        if (!s.path) return;
        const st = await stat(s.path);
        s.stamp = `${st.size}:${Math.trunc(st.mtimeMs)}`;
      }),
    );
  }
  return sources;
}

function cacheKey(sources: readonly Source[], imageDir: string, size: InputSize): string {
  const hash = createHash('sha256');
  // For a square input exactly the key it always had (side, PREPROCESS_VERSION), so existing caches stay valid.
  hash.update(`${CACHE_FORMAT}\n${preprocessVersion(size)}\n${formatInputSize(size)}\n`);
  for (const s of sources) hash.update(`${s.item.imageId}\t${s.path ? relative(imageDir, s.path) : '-'}\t${s.stamp ?? '-'}\n`);
  return hash.digest('hex');
}

/**
 * Checksum of the cached pixels, to catch a damaged or half-copied file (not an attacker). CRC-32
 * runs at ~1-2 GB/s here against ~350 MB/s for SHA-256, which matters for a 1 GB cache at 96 px;
 * zlib.crc32 needs Node >= 20.15, so older Node falls back to SHA-256.
 */
function checksum(bytes: Uint8Array, algorithm: string): string {
  if (algorithm === 'crc32' && typeof zlib.crc32 === 'function') {
    let crc = 0;
    for (let off = 0; off < bytes.byteLength; off += 64 << 20) crc = zlib.crc32(bytes.subarray(off, off + (64 << 20)), crc);
    return (crc >>> 0).toString(16).padStart(8, '0');
  }
  if (algorithm === 'sha256') return createHash('sha256').update(bytes).digest('hex');
  throw new Error(`unsupported checksum ${algorithm}`);
}
const CHECKSUM = typeof zlib.crc32 === 'function' ? 'crc32' : 'sha256';

/** Reads a file range into the given bytes (in pieces: one read call is capped near 2 GiB). */
async function readFully(handle: FileHandle, into: Uint8Array, position: number): Promise<void> {
  for (let off = 0; off < into.byteLength;) {
    const length = Math.min(into.byteLength - off, 256 << 20);
    const { bytesRead } = await handle.read(into, off, length, position + off);
    if (bytesRead === 0) throw new Error('cache file ends early');
    off += bytesRead;
  }
}

/** Reads and fully verifies a cache file; returns the problem instead when it is absent or not trustworthy. */
async function readCache(
  path: string,
  key: string,
  sources: readonly Source[],
  size: InputSize,
): Promise<{ dataset: Omit<Dataset, 'cache'> } | { problem: string; exists: boolean }> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    return { problem: (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no cache file' : (err as Error).message, exists: false };
  }
  try {
    const fileBytes = (await handle.stat()).size;
    const prefix = new Uint8Array(MAGIC.length + 4);
    if (fileBytes < prefix.length) throw new Error('not a dataset cache file');
    await readFully(handle, prefix, 0);
    if (!Buffer.from(prefix.subarray(0, MAGIC.length)).equals(MAGIC)) throw new Error('not a dataset cache file');
    const headerLength = Buffer.from(prefix).readUInt32LE(MAGIC.length);
    if (prefix.length + headerLength > fileBytes) throw new Error('cache header is truncated');
    const headerBytes = new Uint8Array(headerLength);
    await readFully(handle, headerBytes, prefix.length);
    const header = JSON.parse(Buffer.from(headerBytes).toString('utf8')) as CacheHeader;
    if (
      header.format !== CACHE_FORMAT ||
      header.key !== key ||
      header.size !== canonicalInputSize(size) ||
      header.preprocessVersion !== preprocessVersion(size)
    ) {
      throw new Error('cache header does not match this request');
    }
    if (!Array.isArray(header.loaded) || !Array.isArray(header.skipped)) throw new Error('cache header has no image lists');
    const dataStart = alignTo4(prefix.length + headerLength);
    const shape = inputShape(size);
    const perImage = shape.width * shape.height * 3;
    if (header.dataBytes !== header.loaded.length * perImage * 4 || fileBytes !== dataStart + header.dataBytes) {
      throw new Error(`cache file is ${fileBytes} bytes, expected ${dataStart + header.dataBytes} (truncated?)`);
    }
    // Loaded + skipped must be exactly the requested images, in order.
    const loaded = new Set(header.loaded);
    const skippedIds = new Set(header.skipped.map((s) => s.imageId));
    const items = sources.filter((s) => loaded.has(s.item.imageId)).map((s) => s.item);
    const accounted = sources.every((s) => loaded.has(s.item.imageId) !== skippedIds.has(s.item.imageId));
    if (!accounted || items.length !== header.loaded.length || items.some((it, i) => it.imageId !== header.loaded[i])) {
      throw new Error('cache image list does not match the requested images');
    }
    const pixels = new Float32Array(header.dataBytes / 4);
    const bytes = new Uint8Array(pixels.buffer);
    await readFully(handle, bytes, dataStart);
    if (checksum(bytes, header.checksumAlgorithm) !== header.checksum) throw new Error('cache data checksum mismatch');
    return { dataset: { shape, items, pixels, skipped: header.skipped } };
  } catch (err) {
    return { problem: (err as Error).message, exists: true };
  } finally {
    await handle.close();
  }
}

const alignTo4 = (n: number) => Math.ceil(n / 4) * 4;

/** Writes the cache through a temporary file and rename, so a crash never leaves a half-written cache under the real name. */
async function writeCache(path: string, key: string, ds: Omit<Dataset, 'cache'>): Promise<void> {
  const data = new Uint8Array(ds.pixels.buffer, ds.pixels.byteOffset, ds.pixels.byteLength);
  const header: CacheHeader = {
    format: CACHE_FORMAT,
    key,
    size: canonicalInputSize(ds.shape),
    preprocessVersion: preprocessVersion(ds.shape),
    loaded: ds.items.map((i) => i.imageId),
    skipped: ds.skipped,
    dataBytes: data.byteLength,
    checksumAlgorithm: CHECKSUM,
    checksum: checksum(data, CHECKSUM),
  };
  const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
  const lengthBytes = Buffer.alloc(4);
  lengthBytes.writeUInt32LE(headerBytes.length);
  const headerEnd = MAGIC.length + 4 + headerBytes.length;
  const padding = Buffer.alloc(alignTo4(headerEnd) - headerEnd);
  const temp = `${path}.${process.pid}.tmp`;
  const handle = await open(temp, 'w');
  try {
    await handle.writev([MAGIC, lengthBytes, headerBytes, padding]);
    // Large writes in pieces: one write call is capped at 2 GiB.
    for (let off = 0; off < data.byteLength; off += 256 << 20) {
      await handle.write(data.subarray(off, Math.min(off + (256 << 20), data.byteLength)));
    }
  } finally {
    await handle.close();
  }
  await rename(temp, path);
}

async function decodeAll(
  sources: readonly Source[],
  shape: InputShape,
  concurrency: number,
  onProgress?: (done: number, total: number) => void,
): Promise<Omit<Dataset, 'cache'>> {
  const perImage = shape.width * shape.height * 3;
  const all = new Float32Array(sources.length * perImage);
  const failures = new Map<number, string>();
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < sources.length) {
      const i = next++;
      const { path } = sources[i];
      if (!path) {
        failures.set(i, 'image file not found');
      } else {
        try {
          const rgba = await decodeImage(path); // its errors already name the file
          try {
            all.set(preprocess(rgba, shape), i * perImage);
          } catch (err) {
            failures.set(i, `cannot preprocess ${path}: ${(err as Error).message}`);
          }
        } catch (err) {
          failures.set(i, (err as Error).message);
        }
      }
      onProgress?.(++done, sources.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, sources.length)) }, worker));

  // Compact in place, keeping the requested order.
  const items: LabelledImage[] = [];
  const skipped: Dataset['skipped'] = [];
  sources.forEach((s, i) => {
    const reason = failures.get(i);
    if (reason !== undefined) {
      skipped.push({ imageId: s.item.imageId, reason });
      return;
    }
    if (items.length !== i) all.copyWithin(items.length * perImage, i * perImage, (i + 1) * perImage);
    items.push(s.item);
  });
  const pixels = skipped.length === 0 ? all : all.slice(0, items.length * perImage);
  return { shape, items, pixels, skipped };
}

/**
 * Finds, decodes and preprocesses the listed images at the input size (width x height). Missing or undecodable images
 * are skipped and listed with the reason; loading goes on. With cacheDir, the result is stored in a
 * file keyed by the image list, each file's size and mtime, the input size and its preprocessing version;
 * a cache file that does not verify (header, length, checksum of the data) is rebuilt, never used.
 */
export async function loadDataset(opts: LoadDatasetOptions): Promise<Dataset> {
  const { images, imageDir, size, cacheDir, onProgress, concurrency = 4 } = opts;
  let shape: InputShape;
  try {
    shape = inputShape(size);
  } catch {
    throw new Error(`loadDataset: size must be a positive integer or WxH, got ${typeof size === 'object' ? JSON.stringify(size) : size}`);
  }
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new Error(`loadDataset: concurrency must be a positive integer, got ${concurrency}`);
  const sources = await locate(images, imageDir);

  if (!cacheDir) return { ...(await decodeAll(sources, shape, concurrency, onProgress)), cache: { status: 'off' } };

  const key = cacheKey(sources, imageDir, size);
  const path = join(cacheDir, `dataset-${formatInputSize(shape)}px-${key.slice(0, 16)}.bin`);
  const cached = await readCache(path, key, sources, size);
  if ('dataset' in cached) {
    onProgress?.(sources.length, sources.length);
    // Marks it used, so the cap (pruneCache) drops files no run reads any more, not this one.
    const now = new Date();
    await utimes(path, now, now).catch(() => {});
    return { ...cached.dataset, cache: { status: 'hit', path } };
  }
  const dataset = await decodeAll(sources, shape, concurrency, onProgress);
  let note: string | undefined = cached.exists ? `replaced an unusable cache file (${cached.problem})` : undefined;
  try {
    await mkdir(cacheDir, { recursive: true });
    await writeCache(path, key, dataset);
    const pruned = await pruneCache(cacheDir, path, opts.cacheMaxBytes ?? CACHE_MAX_BYTES).catch(() => [] as string[]);
    if (pruned.length) note = `${note ? `${note}; ` : ''}removed ${pruned.length} older cache file(s) to stay under the cache's cap`;
  } catch (err) {
    await rm(`${path}.${process.pid}.tmp`, { force: true }).catch(() => {});
    note = `${note ? `${note}; ` : ''}could not write the cache: ${(err as Error).message}`;
  }
  return { ...dataset, cache: { status: cached.exists ? 'rebuilt' : 'miss', path, ...(note ? { note } : {}) } };
}

/** A batch as tensors: x [n, height, width, 3] float32 and one-hot float32 labels y [n, NUM_CLASSES]. The caller disposes them. */
export function toTensors(ds: Dataset, indices: readonly number[]): { x: tf.Tensor4D; y: tf.Tensor2D } {
  const { width, height } = ds.shape;
  const perImage = height * width * 3;
  const x = new Float32Array(indices.length * perImage);
  const y = new Float32Array(indices.length * NUM_CLASSES);
  indices.forEach((index, row) => {
    if (!Number.isInteger(index) || index < 0 || index >= ds.items.length) {
      throw new Error(`toTensors: index ${index} is out of range (dataset has ${ds.items.length} images)`);
    }
    x.set(ds.pixels.subarray(index * perImage, (index + 1) * perImage), row * perImage);
    y[row * NUM_CLASSES + ds.items[index].label] = 1;
  });
  return {
    x: tf.tensor4d(x, [indices.length, height, width, 3]),
    y: tf.tensor2d(y, [indices.length, NUM_CLASSES]),
  };
}

/** One dataset of several loaded at the same size (one per data folder), in the given order. */
export function concatDatasets(parts: readonly Dataset[]): Dataset {
  if (parts.length === 1) return parts[0];
  const shape = parts[0].shape;
  if (parts.some((p) => p.shape.width !== shape.width || p.shape.height !== shape.height))
    throw new Error('concatDatasets: the parts were loaded at different sizes');
  const pixels = new Float32Array(parts.reduce((n, p) => n + p.pixels.length, 0));
  let offset = 0;
  for (const p of parts) {
    pixels.set(p.pixels, offset);
    offset += p.pixels.length;
  }
  const statuses = parts.map((p) => p.cache.status);
  return {
    shape,
    items: parts.flatMap((p) => p.items),
    pixels,
    skipped: parts.flatMap((p) => p.skipped),
    // The whole is a hit only when every part was; otherwise it reports what had to be decoded.
    cache: {
      status: statuses.every((st) => st === statuses[0]) ? statuses[0] : 'miss',
      note: parts.map((p) => p.cache.path ?? p.cache.status).join(', '),
    },
  };
}
