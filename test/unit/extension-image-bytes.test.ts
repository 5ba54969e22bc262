import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import {
  base64ToBytes, bytesToBase64, checkImageBytes, ImageFileError, MAX_IMAGE_BYTES, readImageSize, sniffImageType, UPLOAD_TYPES,
} from '../../extension/shared/image-bytes.ts';

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
  const alpha = new Uint8Array(await sharp(Buffer.alloc(70 * 40 * 4, 100), { raw: { width: 70, height: 40, channels: 4 } }).webp().toBuffer());
  assert.deepEqual(readImageSize(alpha, 'image/webp'), { width: 70, height: 40 });
});

test('the committed browser fixtures are recognised', () => {
  const png = new Uint8Array(readFileSync('test/browser/fixtures/synthetic.png'));
  assert.deepEqual(checkImageBytes(png, 'image/png'), { type: 'image/png', width: 150, height: 113 });
  const jpeg = new Uint8Array(readFileSync('test/browser/fixtures/synthetic.jpg'));
  assert.deepEqual(checkImageBytes(jpeg, ''), { type: 'image/jpeg', width: 150, height: 113 });
});

test('refuses non-images with a message that says what came back', () => {
  const html = new TextEncoder().encode('<!doctype html><title>Login</title>');
  assert.throws(() => checkImageBytes(html, 'text/html; charset=utf-8'), {
    name: 'ImageFileError',
    message: 'The address returned text/html, not an image. The server may have sent an error or login page instead of the picture.',
  });
  assert.throws(() => checkImageBytes(html, 'text/html', { source: 'file' }), { message: 'This file is text/html, not a JPEG, PNG or WebP image.' });
  assert.throws(() => checkImageBytes(html, 'image/jpeg'), /says it is image\/jpeg, but its contents are not a readable image/);
  assert.throws(() => checkImageBytes(new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg"/>'), 'image/svg+xml'), /SVG drawings are not supported/);
  assert.throws(() => checkImageBytes(new Uint8Array(0), 'image/png'), { message: 'The image is empty (0 bytes).' });
});

test('refuses formats outside the allowed list, damaged headers, and oversized images before decoding', async () => {
  const gif = new Uint8Array(await sharp(pixels(4, 4), raw(4, 4)).gif().toBuffer());
  assert.throws(() => checkImageBytes(gif, 'image/gif', { allowed: UPLOAD_TYPES }), { message: 'GIF files are not supported here; please use JPEG, PNG, WebP.' });
  const png = new Uint8Array(await sharp(pixels(20, 20), raw(20, 20)).png().toBuffer());
  assert.throws(() => checkImageBytes(png.slice(0, 16), 'image/png'), { message: 'The PNG file is damaged: its header has no valid image size.' });
  // A PNG header claiming 20000 x 20000 pixels (the rest of the file is irrelevant: we never decode it).
  const huge = png.slice();
  new DataView(huge.buffer).setUint32(16, 20000);
  new DataView(huge.buffer).setUint32(20, 20000);
  assert.throws(() => checkImageBytes(huge, 'image/png'), {
    message: 'The image is too large (20000x20000 pixels); DermLens accepts up to 40 megapixels and 16384 pixels per side.',
  });
  const tooManyBytes = new Uint8Array(MAX_IMAGE_BYTES + 1);
  assert.throws(() => checkImageBytes(tooManyBytes, 'image/png'), (e: unknown) => e instanceof ImageFileError && /too large \(40\.0 MB\)/.test(e.message));
});

test('base64 round-trips any bytes (large ones in chunks) and rejects garbage', () => {
  const bytes = new Uint8Array(200_003).map((_, i) => (i * 7919) % 256);
  const encoded = bytesToBase64(bytes);
  assert.equal(encoded, Buffer.from(bytes).toString('base64'));
  assert.deepEqual(base64ToBytes(encoded), bytes);
  assert.throws(() => base64ToBytes('%%%'), { message: 'The image data arrived damaged (invalid base64).' });
});
