import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, open, readdir, rm, stat, truncate, utimes, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import '@tensorflow/tfjs-backend-cpu';
import { tf } from '../../core/tf.ts';
import { NUM_CLASSES } from '../../core/labels.ts';
import { preprocess } from '../../core/preprocess.ts';
import { loadDataset, pruneCache, toTensors, type Dataset } from '../../trainer/data/dataset.ts';
import { decodeImage } from '../../trainer/data/images.ts';
import type { LabelledImage } from '../../trainer/data/metadata.ts';

before(async () => {
  await tf.setBackend('cpu');
});

const SIZE = 8;

/** A distinct 24x18 image per index (colour gradient with an offset), as JPEG or PNG. */
async function makeImage(index: number, format: 'jpeg' | 'png'): Promise<Buffer> {
  const w = 24,
    h = 18;
  const raw = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * 3;
      raw[o] = (x * 10 + index * 37) % 256;
      raw[o + 1] = (y * 12 + index * 53) % 256;
      raw[o + 2] = (index * 71) % 256;
    }
  const img = sharp(raw, { raw: { width: w, height: h, channels: 3 } });
  return format === 'jpeg' ? img.jpeg({ quality: 90 }).toBuffer() : img.png().toBuffer();
}

interface Fixture {
  dir: string;
  imageDir: string;
  cacheDir: string;
  items: LabelledImage[];
}

/**
 * Six listed images: two in part_1, two nested in part_2, one corrupt (random bytes named .jpg),
 * one listed but missing; plus an unlisted image.
 */
async function fixture(): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), 'dermlens-dataset-'));
  const imageDir = join(dir, 'images');
  await mkdir(join(imageDir, 'part_1'), { recursive: true });
  await mkdir(join(imageDir, 'part_2', 'nested'), { recursive: true });
  await writeFile(join(imageDir, 'part_1', 'IMG_0.jpg'), await makeImage(0, 'jpeg'));
  await writeFile(join(imageDir, 'part_1', 'IMG_1.png'), await makeImage(1, 'png'));
  await writeFile(join(imageDir, 'part_2', 'IMG_2.jpg'), await makeImage(2, 'jpeg'));
  await writeFile(join(imageDir, 'part_2', 'nested', 'IMG_3.jpeg'), await makeImage(3, 'jpeg'));
  await writeFile(join(imageDir, 'part_2', 'IMG_BAD.jpg'), randomBytes(500));
  await writeFile(join(imageDir, 'part_2', 'IMG_UNLISTED.jpg'), await makeImage(9, 'jpeg'));
  // Decodes fine but is below core/preprocess.ts's minimum side.
  await writeFile(
    join(imageDir, 'part_1', 'IMG_TINY.png'),
    await sharp({ create: { width: 8, height: 8, channels: 3, background: 'red' } })
      .png()
      .toBuffer(),
  );
  const items: LabelledImage[] = [
    { imageId: 'IMG_3', lesionId: 'L1', label: 5 },
    { imageId: 'IMG_BAD', lesionId: 'L2', label: 0 },
    { imageId: 'IMG_0', lesionId: 'L1', label: 5 },
    { imageId: 'IMG_MISSING', lesionId: 'L3', label: 2 },
    { imageId: 'IMG_1', lesionId: 'L4', label: 6 },
    { imageId: 'IMG_2', lesionId: 'L5', label: 1 },
    { imageId: 'IMG_TINY', lesionId: 'L6', label: 3 },
  ];
  return { dir, imageDir, cacheDir: join(dir, 'cache'), items };
}

async function expectedPixels(f: Fixture, ids: string[]): Promise<Float32Array> {
  const paths: Record<string, string> = {
    IMG_0: 'part_1/IMG_0.jpg',
    IMG_1: 'part_1/IMG_1.png',
    IMG_2: 'part_2/IMG_2.jpg',
    IMG_3: 'part_2/nested/IMG_3.jpeg',
  };
  const out = new Float32Array(ids.length * SIZE * SIZE * 3);
  for (const [i, id] of ids.entries()) out.set(preprocess(await decodeImage(join(f.imageDir, paths[id])), SIZE), i * SIZE * SIZE * 3);
  return out;
}

const LOADED = ['IMG_3', 'IMG_0', 'IMG_1', 'IMG_2'];

function checkDataset(ds: Dataset, f: Fixture, expected: Float32Array): void {
  assert.deepEqual(ds.shape, { width: SIZE, height: SIZE });
  assert.deepEqual(
    ds.items.map((i) => i.imageId),
    LOADED,
  );
  assert.deepEqual(
    ds.items,
    f.items.filter((i) => LOADED.includes(i.imageId)),
  );
  assert.equal(ds.pixels.length, LOADED.length * SIZE * SIZE * 3);
  assert.deepEqual(Array.from(ds.pixels), Array.from(expected));
  assert.deepEqual(
    ds.skipped.map((s) => s.imageId),
    ['IMG_BAD', 'IMG_MISSING', 'IMG_TINY'],
  );
  assert.match(ds.skipped[0].reason, /cannot decode .*IMG_BAD\.jpg/);
  assert.equal(ds.skipped[1].reason, 'image file not found');
  assert.match(ds.skipped[2].reason, /cannot preprocess .*IMG_TINY\.png: Image is too small \(8x8\)/);
}

test('loads listed images from nested folders through core preprocess, skipping the corrupt and the missing', async () => {
  const f = await fixture();
  try {
    const progress: [number, number][] = [];
    const ds = await loadDataset({ images: f.items, imageDir: f.imageDir, size: SIZE, onProgress: (d, t) => progress.push([d, t]) });
    checkDataset(ds, f, await expectedPixels(f, LOADED));
    assert.equal(ds.cache.status, 'off');
    assert.deepEqual(
      progress,
      f.items.map((_, i) => [i + 1, f.items.length]),
    );
    // Same result one at a time.
    const serial = await loadDataset({ images: f.items, imageDir: f.imageDir, size: SIZE, concurrency: 1 });
    assert.deepEqual(Array.from(serial.pixels), Array.from(ds.pixels));
  } finally {
    await rm(f.dir, { recursive: true, force: true });
  }
});

test('the disk cache is reused, keyed by size and files, and rebuilt when damaged', async () => {
  const f = await fixture();
  try {
    const expected = await expectedPixels(f, LOADED);
    const load = (size = SIZE) => loadDataset({ images: f.items, imageDir: f.imageDir, size, cacheDir: f.cacheDir });
    // Whole seconds, so setting the same mtime again later reproduces it exactly.
    const sneaky = join(f.imageDir, 'part_1', 'IMG_1.png');
    const mtime = 1_700_000_000;
    await utimes(sneaky, mtime, mtime);
    const first = await load();
    assert.equal(first.cache.status, 'miss');
    checkDataset(first, f, expected);
    const cacheFile = first.cache.path!;
    assert.deepEqual(await readdir(f.cacheDir), [cacheFile.split('/').pop()]);

    // A hit decodes nothing: overwrite an image with garbage of the same length and mtime (so its
    // stamp is unchanged); the hit still returns the original pixels, which a decode could not.
    const { size: length } = await stat(sneaky);
    await writeFile(sneaky, randomBytes(length));
    await utimes(sneaky, mtime, mtime);
    const second = await load();
    assert.equal(second.cache.status, 'hit');
    assert.equal(second.cache.path, cacheFile);
    checkDataset(second, f, expected);
    await writeFile(sneaky, await makeImage(1, 'png'));
    await utimes(sneaky, mtime, mtime);

    // Flip one data byte: the checksum catches it and the cache is rebuilt.
    const handle = await open(cacheFile, 'r+');
    const size = (await handle.stat()).size;
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, size - 7);
    byte[0] ^= 0xff;
    await handle.write(byte, 0, 1, size - 7);
    await handle.close();
    const third = await load();
    assert.equal(third.cache.status, 'rebuilt');
    assert.match(third.cache.note!, /checksum mismatch/);
    checkDataset(third, f, expected);
    assert.equal((await load()).cache.status, 'hit');

    // Truncated and garbage files are rebuilt too.
    await truncate(cacheFile, 100);
    const fourth = await load();
    assert.equal(fourth.cache.status, 'rebuilt');
    assert.match(fourth.cache.note!, /truncated/);
    checkDataset(fourth, f, expected);
    await writeFile(cacheFile, 'not a cache');
    assert.equal((await load()).cache.status, 'rebuilt');

    // Another size is another cache file.
    const other = await load(16);
    assert.equal(other.cache.status, 'miss');
    assert.notEqual(other.cache.path, cacheFile);
    assert.equal(other.pixels.length, LOADED.length * 16 * 16 * 3);

    // Replacing an image (new content and mtime) invalidates the cache; its new pixels are used.
    const replaced = join(f.imageDir, 'part_1', 'IMG_0.jpg');
    await writeFile(replaced, await makeImage(42, 'jpeg'));
    const later = new Date(Date.now() + 5000);
    await utimes(replaced, later, later);
    const fifth = await load();
    assert.equal(fifth.cache.status, 'miss');
    assert.notEqual(fifth.cache.path, cacheFile);
    const fresh = preprocess(await decodeImage(replaced), SIZE);
    assert.deepEqual(Array.from(fifth.pixels.subarray(SIZE * SIZE * 3, 2 * SIZE * SIZE * 3)), Array.from(fresh));

    // Fixing the missing image changes the key as well.
    await writeFile(join(f.imageDir, 'IMG_MISSING.png'), await makeImage(7, 'png'));
    const sixth = await load();
    assert.equal(sixth.cache.status, 'miss');
    assert.deepEqual(
      sixth.skipped.map((s) => s.imageId),
      ['IMG_BAD', 'IMG_TINY'],
    );
    assert.equal(sixth.items.length, 5);
    assert.ok((await stat(sixth.cache.path!)).size > 5 * SIZE * SIZE * 3 * 4);
  } finally {
    await rm(f.dir, { recursive: true, force: true });
  }
});

test('the cache folder stays under its cap: the least recently used cache files go, a hit counts as use, other files stay', async () => {
  const f = await fixture();
  try {
    await mkdir(f.cacheDir, { recursive: true });
    const at = async (name: string, bytes: number, minutesAgo: number) => {
      const path = join(f.cacheDir, name);
      await writeFile(path, Buffer.alloc(bytes));
      const t = new Date(Date.now() - minutesAgo * 60_000);
      await utimes(path, t, t);
    };
    // Two stale cache files (as a data folder copied again leaves behind) and a file that is not a cache.
    await at('dataset-8px-old.bin', 4000, 60);
    await at('dataset-8px-older.bin', 4000, 120);
    await at('notes.txt', 50_000, 300);
    const load = (cacheMaxBytes: number) =>
      loadDataset({ images: f.items, imageDir: f.imageDir, size: SIZE, cacheDir: f.cacheDir, cacheMaxBytes });
    const built = await load(10_000);
    const written = (await stat(built.cache.path!)).size;
    assert.ok(written + 4000 <= 10_000 && written + 8000 > 10_000, `the test needs room for exactly one old file (${written} bytes)`);
    assert.equal(built.cache.status, 'miss');
    assert.match(built.cache.note!, /removed 1 older cache file\(s\) to stay under the cache's cap/);
    assert.deepEqual((await readdir(f.cacheDir)).sort(), [built.cache.path!.split('/').pop(), 'dataset-8px-old.bin', 'notes.txt'].sort());

    // A hit marks its file used: after it, the older file is the one a cap drops, never the file just read.
    const oldPath = join(f.cacheDir, 'dataset-8px-old.bin');
    const t = new Date();
    await utimes(oldPath, t, t);
    const hit = await load(10_000);
    assert.equal(hit.cache.status, 'hit');
    assert.ok((await stat(hit.cache.path!)).mtimeMs >= t.getTime() - 1000);
    assert.deepEqual(await pruneCache(f.cacheDir, hit.cache.path!, written), ['dataset-8px-old.bin']);
    // The file in use stays even when it alone is over the cap.
    assert.deepEqual(await pruneCache(f.cacheDir, hit.cache.path!, 1), []);
    assert.deepEqual((await readdir(f.cacheDir)).sort(), [hit.cache.path!.split('/').pop(), 'notes.txt'].sort());
  } finally {
    await rm(f.dir, { recursive: true, force: true });
  }
});

test('an unwritable cache folder does not stop loading; bad arguments are refused', async () => {
  const f = await fixture();
  try {
    await writeFile(join(f.dir, 'blocker'), 'x');
    const ds = await loadDataset({ images: f.items, imageDir: f.imageDir, size: SIZE, cacheDir: join(f.dir, 'blocker', 'cache') });
    assert.equal(ds.items.length, 4);
    assert.match(ds.cache.note!, /could not write the cache/);
    await assert.rejects(loadDataset({ images: f.items, imageDir: join(f.dir, 'nope'), size: SIZE }), /image folder not found: .*nope/);
    await assert.rejects(
      loadDataset({ images: [...f.items, f.items[0]], imageDir: f.imageDir, size: SIZE }),
      /image IMG_3 is listed twice/,
    );
    await assert.rejects(loadDataset({ images: f.items, imageDir: f.imageDir, size: 0 }), /size must be a positive integer/);
    await assert.rejects(
      loadDataset({ images: f.items, imageDir: f.imageDir, size: SIZE, concurrency: NaN }),
      /concurrency must be a positive integer, got NaN/,
    );
    const empty = await loadDataset({ images: [], imageDir: f.imageDir, size: SIZE });
    assert.deepEqual([empty.items.length, empty.pixels.length, empty.skipped.length], [0, 0, 0]);
  } finally {
    await rm(f.dir, { recursive: true, force: true });
  }
});

test('toTensors builds a batch with one-hot labels in the requested order and leaks nothing', async () => {
  const f = await fixture();
  try {
    const ds = await loadDataset({ images: f.items, imageDir: f.imageDir, size: SIZE });
    const before = tf.memory().numTensors;
    const { x, y } = toTensors(ds, [2, 0, 2]);
    assert.deepEqual(x.shape, [3, SIZE, SIZE, 3]);
    assert.deepEqual(y.shape, [3, NUM_CLASSES]);
    assert.equal(x.dtype, 'float32');
    assert.equal(y.dtype, 'float32');
    const per = SIZE * SIZE * 3;
    const xs = x.dataSync();
    assert.deepEqual(Array.from(xs.subarray(0, per)), Array.from(ds.pixels.subarray(2 * per, 3 * per)));
    assert.deepEqual(Array.from(xs.subarray(per, 2 * per)), Array.from(ds.pixels.subarray(0, per)));
    const oneHot = (label: number) => Array.from({ length: NUM_CLASSES }, (_, k) => (k === label ? 1 : 0));
    assert.deepEqual(Array.from(y.dataSync()), [...oneHot(ds.items[2].label), ...oneHot(ds.items[0].label), ...oneHot(ds.items[2].label)]);
    tf.dispose([x, y]);
    assert.equal(tf.memory().numTensors, before);
    assert.throws(() => toTensors(ds, [4]), /index 4 is out of range \(dataset has 4 images\)/);
    assert.throws(() => toTensors(ds, [1.5]), /index 1\.5 is out of range/);
    assert.equal(tf.memory().numTensors, before);
  } finally {
    await rm(f.dir, { recursive: true, force: true });
  }
});
