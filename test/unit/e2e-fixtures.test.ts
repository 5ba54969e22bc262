// The pure parts of the end-to-end harness: the drawn lesion, the Y4M writer for the fake camera,
// and the hand-written / deliberately broken image files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { generateLesion } from '../e2e/fixtures/lesion-image.ts';
import { decodeY4m, encodeY4m, lumaOf, rgbaToI420, yuvToRgb } from '../e2e/fixtures/y4m.ts';
import { corruptJpegBytes, encodeJpeg, solidPalettePng, withDeclaredJpegSize } from '../e2e/fixtures/images.ts';

const meanRgb = (data: Uint8Array, width: number, x0: number, y0: number, size: number) => {
  const sum = [0, 0, 0];
  for (let y = y0; y < y0 + size; y++)
    for (let x = x0; x < x0 + size; x++) for (let c = 0; c < 3; c++) sum[c]! += data[(y * width + x) * 4 + c]!;
  return sum.map((s) => s / (size * size));
};

test('generateLesion is deterministic, dark brown in the middle and skin-toned in the corner', () => {
  const a = generateLesion({ width: 64, height: 48, seed: 5 });
  const b = generateLesion({ width: 64, height: 48, seed: 5 });
  const c = generateLesion({ width: 64, height: 48, seed: 6 });
  assert.equal(a.data.length, 64 * 48 * 4);
  assert.deepEqual(a.data, b.data);
  assert.notDeepEqual(a.data, c.data);
  const centre = meanRgb(a.data as Uint8Array, 64, 28, 20, 6);
  const corner = meanRgb(a.data as Uint8Array, 64, 0, 0, 4);
  assert.ok(centre[0]! < 110 && centre[0]! > centre[2]!, `centre should be dark brown, got ${centre}`);
  assert.ok(corner[0]! > 200 && corner[0]! > corner[1]! && corner[1]! > corner[2]!, `corner should be skin tone, got ${corner}`);
  for (let i = 3; i < a.data.length; i += 4) assert.equal(a.data[i], 255);
  assert.throws(() => generateLesion({ width: 0, height: 4 }), /invalid size/);
});

test('rgbaToI420 matches BT.601 limited range and round-trips within a few levels', () => {
  const colours: [number, number, number][] = [
    [0, 0, 0],
    [255, 255, 255],
    [222, 170, 140],
    [70, 40, 28],
  ];
  for (const [r, g, b] of colours) {
    const data = new Uint8Array(4 * 4);
    for (let i = 0; i < 4; i++) data.set([r, g, b, 255], i * 4);
    const frame = rgbaToI420({ data, width: 2, height: 2 });
    assert.deepEqual([...frame.y], [lumaOf(r, g, b), lumaOf(r, g, b), lumaOf(r, g, b), lumaOf(r, g, b)]);
    const back = yuvToRgb(frame.y[0]!, frame.u[0]!, frame.v[0]!);
    for (let c = 0; c < 3; c++) assert.ok(Math.abs(back[c]! - [r, g, b][c]!) <= 3, `${[r, g, b]} -> ${back}`);
  }
  assert.equal(lumaOf(0, 0, 0), 16);
  assert.equal(lumaOf(255, 255, 255), 235);
  assert.throws(() => rgbaToI420({ data: new Uint8Array(3 * 2 * 4), width: 3, height: 2 }), /even dimensions/);
});

test('encodeY4m writes the header and FRAME-delimited planes that decodeY4m reads back', () => {
  const image = generateLesion({ width: 32, height: 24, seed: 2 });
  const frame = rgbaToI420(image);
  const file = encodeY4m([frame, frame, frame], 25);
  const header = 'YUV4MPEG2 W32 H24 F25:1 Ip A1:1 C420jpeg\n';
  assert.equal(file.subarray(0, header.length).toString('ascii'), header);
  assert.equal(file.length, header.length + 3 * (6 + 32 * 24 * 1.5));
  const frames = decodeY4m(file);
  assert.equal(frames.length, 3);
  assert.deepEqual(frames[2]!.y, frame.y);
  assert.deepEqual(frames[2]!.v, frame.v);
  assert.throws(() => encodeY4m([]), /at least one frame/);
  assert.throws(() => encodeY4m([frame, rgbaToI420(generateLesion({ width: 16, height: 16 }))]), /expected 32x24/);
});

test('solidPalettePng is a valid PNG of the requested colour, cheap even at 12000x12000', async () => {
  const small = solidPalettePng(21, 10, [222, 170, 140]);
  const { data, info } = await sharp(small).raw().toBuffer({ resolveWithObject: true });
  assert.equal(info.width, 21);
  assert.equal(info.height, 10);
  assert.deepEqual([...data.subarray(0, 3)], [222, 170, 140]);
  assert.deepEqual([...data.subarray(data.length - info.channels, data.length - info.channels + 3)], [222, 170, 140]);
  const started = Date.now();
  const huge = solidPalettePng(12000, 12000, [222, 170, 140]);
  assert.ok(Date.now() - started < 5000);
  assert.ok(huge.length < 200_000, `huge PNG is ${huge.length} bytes`);
  const meta = await sharp(huge, { limitInputPixels: false }).metadata();
  assert.equal(meta.width, 12000);
  assert.equal(meta.height, 12000);
});

test('withDeclaredJpegSize changes only the declared size; corrupt bytes do not decode', async () => {
  const jpeg = await encodeJpeg(generateLesion({ width: 40, height: 30 }));
  const bomb = withDeclaredJpegSize(jpeg, 60000, 50000);
  assert.equal(bomb.length, jpeg.length);
  const meta = await sharp(bomb, { limitInputPixels: false }).metadata();
  assert.equal(meta.width, 60000);
  assert.equal(meta.height, 50000);
  const corrupt = corruptJpegBytes();
  assert.deepEqual([...corrupt.subarray(0, 3)], [0xff, 0xd8, 0xff]);
  await assert.rejects(sharp(corrupt).raw().toBuffer());
  assert.throws(() => withDeclaredJpegSize(Buffer.from([0xff, 0xd8, 0x00, 0x00]), 1, 1), /marker/);
});
