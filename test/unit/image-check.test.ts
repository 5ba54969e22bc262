import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { checkImageBytes, IMAGE_REFUSALS, ImageFileError } from '../../core/image-check.ts';
import { isComplete, readImageSize, sniff, webpOrientation } from '../../core/image-format.ts';
import { hostileCases } from '../helpers/hostile-images.ts';

test('every hostile case is refused by the byte check alone, with its message, and every good one passes it', async () => {
  for (const { name, bytes, expect } of await hostileCases()) {
    if (expect === 'accept') {
      assert.doesNotThrow(() => checkImageBytes(new Uint8Array(bytes)), name);
    } else {
      assert.throws(
        () => checkImageBytes(new Uint8Array(bytes)),
        (e: unknown) => e instanceof ImageFileError && e.message === expect,
        name,
      );
    }
  }
});

test('sniff names documents and other formats whatever leads them (BOM, whitespace), and calls binary noise unknown', () => {
  const bytes = (s: string) => new TextEncoder().encode(s);
  assert.deepEqual(sniff(bytes('\ufeff\n  <svg xmlns="http://www.w3.org/2000/svg"/>')), { refused: 'svg' });
  assert.deepEqual(sniff(bytes('<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" ""><svg/>')), { refused: 'svg' });
  assert.deepEqual(sniff(bytes('<?xml version="1.0"?><note>hi</note>')), { refused: 'text' });
  assert.deepEqual(sniff(bytes('\r\n<HTML><BODY>404</BODY></HTML>')), { refused: 'html' });
  assert.deepEqual(sniff(bytes('<?xml version="1.0"?>\n<html xmlns="http://www.w3.org/1999/xhtml"><body/></html>')), { refused: 'html' });
  assert.deepEqual(sniff(bytes('%PDF-1.7\n')), { refused: 'pdf' });
  assert.deepEqual(sniff(bytes('{"error":"not found"}')), { refused: 'text' });
  assert.deepEqual(sniff(bytes('Grüße, ça va? 日本語')), { refused: 'text' });
  assert.deepEqual(sniff(new Uint8Array([0x49, 0x49, 0x2a, 0, 8, 0, 0, 0])), { refused: 'tiff' });
  assert.deepEqual(sniff(new Uint8Array([0, 0, 0, 0x18, ...bytes('ftypheic'), 0, 0, 0, 0])), { refused: 'heic' });
  assert.deepEqual(sniff(new Uint8Array([0, 0, 0, 0x18, ...bytes('ftypavif'), 0, 0, 0, 0])), { image: 'image/avif' });
  assert.deepEqual(sniff(new Uint8Array([0x1f, 0x8b, 8, 0])), { refused: 'gzip' });
  assert.deepEqual(sniff(new Uint8Array([0, 1, 2, 3, 200, 201])), { unknown: true });
  // "BM" followed by text is not a bitmap.
  assert.deepEqual(sniff(bytes('BMW 320i service record, 2019: oil change, brakes.')), { refused: 'text' });
});

test('a truncated file whose header is complete is told apart from a complete one, per format', async () => {
  const image = sharp({ create: { width: 40, height: 30, channels: 3, background: { r: 120, g: 80, b: 60 } } });
  for (const [type, buffer] of [
    ['image/jpeg', await image.clone().jpeg().toBuffer()],
    ['image/png', await image.clone().png().toBuffer()],
    ['image/webp', await image.clone().webp().toBuffer()],
    ['image/gif', await image.clone().gif().toBuffer()],
  ] as const) {
    const bytes = new Uint8Array(buffer);
    assert.equal(isComplete(bytes, type), true, type);
    assert.equal(isComplete(bytes.subarray(0, bytes.length - 3), type), false, `${type} without its last 3 bytes`);
    assert.deepEqual(readImageSize(bytes, type), { width: 40, height: 30 }, type);
  }
});

test('webpOrientation reads the EXIF chunk of a WebP (Chromium ignores it, sharp applies it)', async () => {
  const image = sharp({ create: { width: 8, height: 4, channels: 3, background: 'red' } });
  for (const orientation of [1, 3, 6, 8]) {
    const webp = await image.clone().webp().withMetadata({ orientation }).toBuffer();
    assert.equal(webpOrientation(new Uint8Array(webp)), orientation);
  }
  assert.equal(webpOrientation(new Uint8Array(await image.clone().webp().toBuffer())), 1);
});

test('a header cut short is a truncated file; a header of garbage is a damaged one', async () => {
  const jpeg = new Uint8Array(
    await sharp({ create: { width: 40, height: 30, channels: 3, background: 'blue' } })
      .jpeg()
      .toBuffer(),
  );
  assert.throws(() => checkImageBytes(jpeg.subarray(0, 12)), { message: IMAGE_REFUSALS.truncated('image/jpeg') });
  const garbage = new Uint8Array([0xff, 0xd8, 0xff, 0x12, ...new Array(200).fill(0x5a)]);
  assert.throws(() => checkImageBytes(garbage), { message: IMAGE_REFUSALS.damagedHeader('image/jpeg') });
  assert.throws(() => checkImageBytes(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0])), {
    message: IMAGE_REFUSALS.truncated('image/png'),
  });
});
