import { test } from 'node:test';
import assert from 'node:assert/strict';
import '@tensorflow/tfjs-backend-cpu';
import { tf } from '../../core/tf.ts';
import { centreCrop, ImageInputError, pixelsToTensor, preprocess, type RgbaImage } from '../../core/preprocess.ts';

/** Builds an RGBA image from a per-pixel function. */
function image(width: number, height: number, pixel: (x: number, y: number) => [number, number, number, number]): RgbaImage {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set(pixel(x, y), (y * width + x) * 4);
  return { data, width, height };
}

function close(actual: ArrayLike<number>, expected: number[], eps = 1e-6) {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= eps, `index ${i}: ${actual[i]} vs ${expected[i]}`);
  }
}

test('same size: just /255, channel order kept, alpha dropped', () => {
  const img = image(16, 16, (x, y) => [x * 10, y * 10, 255, 255]);
  const out = preprocess(img, 16);
  assert.equal(out.length, 16 * 16 * 3);
  close(out.slice(0, 3), [0, 0, 1]);
  const i = (3 * 16 + 5) * 3; // pixel x=5, y=3
  close(out.slice(i, i + 3), [50 / 255, 30 / 255, 1]);
});

test('downscale by 2 averages each 2x2 block exactly', () => {
  // 32x32 -> 16x16: output (0,0) averages pixels (0,0),(1,0),(0,1),(1,1) with red 0, 10, 20, 30.
  const img = image(32, 32, (x, y) => [(x % 2) * 10 + (y % 2) * 20, 100, 200, 255]);
  const out = preprocess(img, 16);
  close(out.slice(0, 3), [15 / 255, 100 / 255, 200 / 255]);
  close(out.slice(out.length - 3), [15 / 255, 100 / 255, 200 / 255]);
});

test('non-integer downscale weights partial pixels by covered area', () => {
  // 24 columns -> 16: each output pixel covers 1.5 source pixels. Column values 0,60,120 repeat in
  // a pattern where output 0 = (1*0 + 0.5*60)/1.5 = 20 and output 1 = (0.5*60 + 1*120)/1.5 = 100.
  const img = image(24, 18, (x) => [[0, 60, 120][x % 3], 0, 0, 255]);
  const out = preprocess(img, 16);
  close([out[0], out[3]], [20 / 255, 100 / 255]);
});

test('4:3 images are used whole; a wider image is centre-cropped to 4:3', () => {
  assert.deepEqual(centreCrop(256, 192), { x: 0, y: 0, width: 256, height: 192 });
  assert.deepEqual(centreCrop(400, 100), { x: 133, y: 0, width: 133, height: 100 });
  assert.deepEqual(centreCrop(100, 400), { x: 0, y: 133, width: 100, height: 133 });
  // Left third red, middle white, right third blue: the crop keeps only the white middle.
  const img = image(96, 24, (x) => (x < 32 ? [255, 0, 0, 255] : x < 64 ? [255, 255, 255, 255] : [0, 0, 255, 255]));
  const out = preprocess(img, 16);
  assert.ok(
    out.every((v) => v === 1),
    'only the white centre survives',
  );
});

test('transparent pixels composite over white; half alpha blends', () => {
  const img = image(16, 16, (x) => (x < 8 ? [0, 0, 0, 0] : [0, 0, 0, 128]));
  const out = preprocess(img, 16);
  close(out.slice(0, 3), [1, 1, 1]);
  const half = (255 - 128) / 255;
  close(out.slice(8 * 3, 8 * 3 + 3), [half, half, half]);
});

test('grayscale stays gray', () => {
  const img = image(20, 20, (x, y) => {
    const v = (x * 7 + y * 3) % 256;
    return [v, v, v, 255];
  });
  const out = preprocess(img, 16);
  for (let i = 0; i < out.length; i += 3) assert.ok(out[i] === out[i + 1] && out[i] === out[i + 2]);
});

test('upscaling a small image interpolates instead of blocking', () => {
  // 16 -> 32 px: a left-to-right ramp stays a monotone ramp with in-between values.
  const img = image(16, 16, (x) => [x * 17, 0, 0, 255]);
  const out = preprocess(img, 32);
  const row = Array.from({ length: 32 }, (_, x) => out[x * 3]);
  for (let x = 1; x < 32; x++) assert.ok(row[x] >= row[x - 1]);
  close([row[0], row[31], row[2]], [0, 1, (17 * 0.75) / 255]);
});

test('bad input gets a clear ImageInputError', () => {
  assert.throws(
    () =>
      preprocess(
        image(8, 8, () => [0, 0, 0, 255]),
        16,
      ),
    { name: 'ImageInputError', message: /too small \(8x8\)/ },
  );
  assert.throws(() => preprocess({ data: new Uint8Array(10), width: 16, height: 16 }, 16), ImageInputError);
  assert.throws(() => preprocess({ data: new Uint8Array(0), width: 0, height: 16 }, 16), /invalid size/);
});

test('pixelsToTensor stacks a batch without leaking', async () => {
  await tf.setBackend('cpu');
  const before = tf.memory().numTensors;
  const a = image(32, 24, () => [255, 0, 0, 255]);
  const b = image(20, 20, () => [0, 0, 255, 255]);
  const t = pixelsToTensor([a, b], 16);
  assert.deepEqual(t.shape, [2, 16, 16, 3]);
  const data = await t.data();
  close(data.slice(0, 3), [1, 0, 0]);
  close(data.slice(16 * 16 * 3, 16 * 16 * 3 + 3), [0, 0, 1]);
  t.dispose();
  assert.equal(tf.memory().numTensors, before);
});
