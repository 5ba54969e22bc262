import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import {
  ACCEPTED_TYPES,
  base64ToBytes,
  bytesToBase64,
  checkImageBytes,
  ImageFileError,
  MAX_IMAGE_BYTES,
  readImageSize,
  sniffImageType,
  UPLOAD_TYPES,
} from '../../extension/shared/image-bytes.ts';
import { IMAGE_REFUSALS } from '../../core/image-check.ts';

const raw = (width: number, height: number) => ({ raw: { width, height, channels: 3 as const } });
const pixels = (width: number, height: number) => Buffer.alloc(width * height * 3, 128);

test('sniffs the real format from magic bytes and reads the size from each header', async () => {
  const cases: [string, Buffer, number, number][] = [
    ['image/png', await sharp(pixels(37, 21), raw(37, 21)).png().toBuffer(), 37, 21],
    ['image/jpeg', await sharp(pixels(640, 480), raw(640, 480)).jpeg().toBuffer(), 640, 480],
    ['image/jpeg', await sharp(pixels(33, 17), raw(33, 17)).jpeg({ progressive: true }).toBuffer(), 33, 17],
    ['image/webp', await sharp(pixels(101, 55), raw(101, 55)).webp({ lossless: false }).toBuffer(), 101, 55],
    ['image/webp', await sharp(pixels(99, 77), raw(99, 77)).webp({ lossless: true }).toBuffer(), 99, 77],
    ['image/gif', await sharp(pixels(12, 9), raw(12, 9)).gif().toBuffer(), 12, 9],
  ];
  for (const [type, buffer, width, height] of cases) {
    const bytes = new Uint8Array(buffer);
    assert.equal(sniffImageType(bytes), type);
    assert.deepEqual(readImageSize(bytes, type as never), { width, height }, `${type} ${width}x${height}`);
  }
  // A WebP with alpha uses the extended (VP8X) header.
  const alpha = new Uint8Array(
    await sharp(Buffer.alloc(70 * 40 * 4, 100), { raw: { width: 70, height: 40, channels: 4 } })
      .webp()
      .toBuffer(),
  );
  assert.deepEqual(readImageSize(alpha, 'image/webp'), { width: 70, height: 40 });
});

test('the committed browser fixtures are recognised', () => {
  const png = new Uint8Array(readFileSync('test/browser/fixtures/synthetic.png'));
  assert.deepEqual(checkImageBytes(png, 'image/png'), { type: 'image/png', width: 150, height: 113 });
  const jpeg = new Uint8Array(readFileSync('test/browser/fixtures/synthetic.jpg'));
  assert.deepEqual(checkImageBytes(jpeg, ''), { type: 'image/jpeg', width: 150, height: 113 });
});

test('the extension checks bytes with core/image-check.ts: every format the CLI reads, refusals in its words', async () => {
  assert.deepEqual(UPLOAD_TYPES, ACCEPTED_TYPES, 'the popup accepts what right-click and the CLI accept');
  const gif = new Uint8Array(await sharp(pixels(4, 4), raw(4, 4)).gif().toBuffer());
  assert.deepEqual(checkImageBytes(gif, 'image/gif', { allowed: UPLOAD_TYPES, source: 'file' }), {
    type: 'image/gif',
    width: 4,
    height: 4,
  });
  const html = new TextEncoder().encode('<!doctype html><title>Login</title>');
  // The declared type and the source do not change the answer.
  for (const [mime, source] of [
    ['text/html; charset=utf-8', 'download'],
    ['image/jpeg', 'file'],
    ['', 'file'],
  ] as const) {
    assert.throws(() => checkImageBytes(html, mime, { source }), { name: 'ImageFileError', message: IMAGE_REFUSALS.html() });
  }
  const tooManyBytes = new Uint8Array(MAX_IMAGE_BYTES + 1);
  assert.throws(
    () => checkImageBytes(tooManyBytes, 'image/png'),
    (e: unknown) => e instanceof ImageFileError && /too large \(40\.0 MB\)/.test(e.message),
  );
});

test('base64 round-trips any bytes (large ones in chunks) and rejects garbage', () => {
  const bytes = new Uint8Array(200_003).map((_, i) => (i * 7919) % 256);
  const encoded = bytesToBase64(bytes);
  assert.equal(encoded, Buffer.from(bytes).toString('base64'));
  assert.deepEqual(base64ToBytes(encoded), bytes);
  assert.throws(() => base64ToBytes('%%%'), { message: 'The image data arrived damaged (invalid base64).' });
});
