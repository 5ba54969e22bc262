import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { IMAGE_REFUSALS, MAX_IMAGE_BYTES } from '../../core/image-check.ts';
import { decodeImage, findImages, ImageDecodeError } from '../../trainer/data/images.ts';
import { encodeBmp } from '../helpers/hostile-images.ts';

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'dermlens-images-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** width x height RGB, left half red, right half blue. */
function halves(width: number, height: number): Buffer {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      if (x < width / 2) data[o] = 255;
      else data[o + 2] = 255;
    }
  return data;
}

test('findImages finds .jpg/.jpeg/.png at any depth, case-insensitively, skipping hidden and non-image files', async () => {
  await withTempDir(async (dir) => {
    const png = await sharp({ create: { width: 4, height: 4, channels: 3, background: 'red' } })
      .png()
      .toBuffer();
    await mkdir(join(dir, 'HAM10000_images_part_1'));
    await mkdir(join(dir, 'HAM10000_images_part_2', 'deeper'), { recursive: true });
    await mkdir(join(dir, '__MACOSX', 'HAM10000_images_part_1'), { recursive: true });
    await writeFile(join(dir, 'HAM10000_images_part_1', 'ISIC_1.jpg'), png);
    await writeFile(join(dir, 'HAM10000_images_part_2', 'ISIC_2.JPEG'), png);
    await writeFile(join(dir, 'HAM10000_images_part_2', 'deeper', 'ISIC_3.png'), png);
    await writeFile(join(dir, 'HAM10000_images_part_2', '._ISIC_2.jpg'), 'resource fork');
    await writeFile(join(dir, '__MACOSX', 'HAM10000_images_part_1', 'ISIC_4.jpg'), 'resource fork');
    await writeFile(join(dir, 'notes.txt'), 'x');
    await writeFile(join(dir, 'ISIC_5.gif'), 'x');
    const found = await findImages(dir);
    assert.deepEqual(Object.fromEntries([...found].sort()), {
      ISIC_1: join(dir, 'HAM10000_images_part_1', 'ISIC_1.jpg'),
      ISIC_2: join(dir, 'HAM10000_images_part_2', 'ISIC_2.JPEG'),
      ISIC_3: join(dir, 'HAM10000_images_part_2', 'deeper', 'ISIC_3.png'),
    });
  });
});

test('findImages: an id in two folders resolves to the first path in sorted order; symlink loops end', async () => {
  await withTempDir(async (dir) => {
    await mkdir(join(dir, 'b'));
    await mkdir(join(dir, 'a'));
    await writeFile(join(dir, 'b', 'ISIC_1.jpg'), 'x');
    await writeFile(join(dir, 'a', 'ISIC_1.jpg'), 'x');
    await symlink(dir, join(dir, 'a', 'loop'));
    const found = await findImages(dir);
    assert.equal(found.size, 1);
    assert.equal(found.get('ISIC_1'), join(dir, 'a', 'ISIC_1.jpg'));
  });
});

test('findImages: a missing folder or a file is a clear error', async () => {
  await withTempDir(async (dir) => {
    await assert.rejects(findImages(join(dir, 'nowhere')), new RegExp(`image folder not found: ${join(dir, 'nowhere')}`));
    await writeFile(join(dir, 'f.jpg'), 'x');
    await assert.rejects(findImages(join(dir, 'f.jpg')), /is not a directory/);
  });
});

test('decodeImage gives exact RGBA for a PNG, from a path or from bytes', async () => {
  await withTempDir(async (dir) => {
    const raw = halves(20, 18);
    const png = await sharp(raw, { raw: { width: 20, height: 18, channels: 3 } })
      .png()
      .toBuffer();
    await writeFile(join(dir, 'h.png'), png);
    for (const input of [join(dir, 'h.png'), png]) {
      const img = await decodeImage(input);
      assert.deepEqual([img.width, img.height, img.data.length], [20, 18, 20 * 18 * 4]);
      assert.ok(img.data instanceof Uint8Array);
      assert.deepEqual(Array.from(img.data.subarray(0, 4)), [255, 0, 0, 255]);
      const last = (20 * 18 - 1) * 4;
      assert.deepEqual(Array.from(img.data.subarray(last, last + 4)), [0, 0, 255, 255]);
    }
  });
});

test('decodeImage applies EXIF orientation, and converts grey, 16-bit and alpha images to 8-bit RGBA', async () => {
  // Orientation 6 = "rotate 90 degrees clockwise to display": stored 20x10 (red left), shown 10x20 (red on top).
  const rotated = await sharp(halves(20, 10), { raw: { width: 20, height: 10, channels: 3 } })
    .jpeg({ quality: 95 })
    .withMetadata({ orientation: 6 })
    .toBuffer();
  const upright = await decodeImage(rotated);
  assert.deepEqual([upright.width, upright.height], [10, 20]);
  const at = (img: { data: Uint8Array | Uint8ClampedArray; width: number }, x: number, y: number) =>
    Array.from(img.data.subarray((y * img.width + x) * 4, (y * img.width + x) * 4 + 3));
  const [r, , b] = at(upright, 5, 2);
  assert.ok(r > 200 && b < 60, `top should be red, got ${at(upright, 5, 2)}`);
  const [r2, , b2] = at(upright, 5, 17);
  assert.ok(b2 > 200 && r2 < 60, `bottom should be blue, got ${at(upright, 5, 17)}`);

  const grey16 = await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: 100, g: 100, b: 100 } } })
    .toColourspace('grey16')
    .png()
    .toBuffer();
  const g = await decodeImage(grey16);
  assert.equal(g.data.length, 16 * 16 * 4);
  assert.deepEqual(Array.from(g.data.subarray(0, 4)), [100, 100, 100, 255]);

  const rgba = await sharp({ create: { width: 16, height: 16, channels: 4, background: { r: 10, g: 20, b: 30, alpha: 0.5 } } })
    .png()
    .toBuffer();
  assert.deepEqual(Array.from((await decodeImage(rgba)).data.subarray(0, 4)), [10, 20, 30, 128]);
});

test('decodeImage refuses corrupt, truncated, missing, oversized and non-image files with the shared messages, naming the file', async () => {
  await withTempDir(async (dir) => {
    await writeFile(join(dir, 'random.jpg'), randomBytes(3000));
    await assert.rejects(decodeImage(join(dir, 'random.jpg')), {
      message: `cannot decode ${join(dir, 'random.jpg')}: ${IMAGE_REFUSALS.unknown()}`,
    });
    const jpeg = await sharp({ create: { width: 64, height: 48, channels: 3, background: 'green' } })
      .jpeg()
      .toBuffer();
    await writeFile(join(dir, 'cut.jpg'), jpeg.subarray(0, jpeg.length >> 1));
    await assert.rejects(decodeImage(join(dir, 'cut.jpg')), {
      message: `cannot decode ${join(dir, 'cut.jpg')}: ${IMAGE_REFUSALS.truncated('image/jpeg')}`,
    });
    await writeFile(join(dir, 'empty.png'), '');
    await assert.rejects(
      decodeImage(join(dir, 'empty.png')),
      (err: unknown) => err instanceof ImageDecodeError && err.reason === IMAGE_REFUSALS.empty(),
    );
    await assert.rejects(decodeImage(join(dir, 'gone.jpg')), /cannot decode .*gone\.jpg: file not found/);
    await assert.rejects(decodeImage(dir), /cannot decode .*: this is a folder, not an image file/);
    const big = Buffer.from(
      await sharp({ create: { width: 30, height: 20, channels: 3, background: 'white' } })
        .png()
        .toBuffer(),
    );
    big.writeUInt32BE(9000, 16); // IHDR width: 9000 x 9000 = 81 MP, refused from the header
    big.writeUInt32BE(9000, 20);
    await assert.rejects(decodeImage(big), {
      message: `cannot decode image buffer (${big.length} bytes): ${IMAGE_REFUSALS.tooManyPixels({ width: 9000, height: 9000 })}`,
    });
    await writeFile(join(dir, 'huge.bin'), '');
    await truncate(join(dir, 'huge.bin'), MAX_IMAGE_BYTES + 1); // sparse: refused from its size, never read
    await assert.rejects(decodeImage(join(dir, 'huge.bin')), {
      message: `cannot decode ${join(dir, 'huge.bin')}: ${IMAGE_REFUSALS.tooManyBytes(MAX_IMAGE_BYTES + 1)}`,
    });
  });
});

test('decodeImage reads BMP (libnsbmp) with the same pixels as the PNG of the same picture', async () => {
  const image = { data: new Uint8Array((halves(13, 7).length / 3) * 4), width: 13, height: 7 };
  const rgb = halves(13, 7);
  for (let i = 0; i < 13 * 7; i++) image.data.set([rgb[i * 3], rgb[i * 3 + 1], rgb[i * 3 + 2], 255], i * 4);
  const fromPng = await decodeImage(
    await sharp(rgb, { raw: { width: 13, height: 7, channels: 3 } })
      .png()
      .toBuffer(),
  );
  for (const bits of [24, 32] as const) {
    const fromBmp = await decodeImage(encodeBmp(image, bits));
    assert.deepEqual([fromBmp.width, fromBmp.height], [13, 7]);
    assert.deepEqual(Array.from(fromBmp.data), Array.from(fromPng.data), `${bits}-bit BMP`);
  }
});
