// The same set of good and hostile files for both paths: the CLI (test/node/classify-hostile.test.ts)
// and the extension (test/e2e/hostile-inputs.test.ts) must give each the same answer, the one written
// here. Every file is generated (sharp, or by hand for what sharp cannot write), never committed.
import sharp from 'sharp';
import { IMAGE_REFUSALS } from '../../core/image-check.ts';
import type { RgbaImage } from '../../core/preprocess.ts';
import { generateLesion } from '../e2e/fixtures/lesion-image.ts';
import { solidPalettePng, withDeclaredJpegSize } from '../e2e/fixtures/images.ts';

export interface HostileCase {
  /** File name, sometimes with a wrong extension on purpose. */
  name: string;
  bytes: Buffer;
  /** 'accept': both paths classify it; otherwise the exact message both paths give. */
  expect: 'accept' | string;
  /** Content-Type the fixture server sends: a plausible (often wrong) one, which must not matter. */
  contentType: string;
}

const raw = (image: RgbaImage) => sharp(Buffer.from(image.data), { raw: { width: image.width, height: image.height, channels: 4 } });

/** A BMP written by hand (sharp cannot write BMP): 24 bits bottom-up, or 32 bits top-down. */
export function encodeBmp(image: RgbaImage, bits: 24 | 32 = 24): Buffer {
  const { width, height, data } = image;
  const stride = Math.ceil((width * bits) / 32) * 4;
  const out = Buffer.alloc(54 + stride * height);
  out.write('BM', 0, 'ascii');
  out.writeUInt32LE(out.length, 2);
  out.writeUInt32LE(54, 10);
  out.writeUInt32LE(40, 14);
  out.writeInt32LE(width, 18);
  out.writeInt32LE(bits === 24 ? height : -height, 22); // negative height: rows top-down
  out.writeUInt16LE(1, 26);
  out.writeUInt16LE(bits, 28);
  for (let y = 0; y < height; y++) {
    const row = 54 + (bits === 24 ? height - 1 - y : y) * stride;
    for (let x = 0; x < width; x++) {
      const p = (y * width + x) * 4;
      const o = row + (x * bits) / 8;
      out[o] = data[p + 2];
      out[o + 1] = data[p + 1];
      out[o + 2] = data[p];
      if (bits === 32) out[o + 3] = 255;
    }
  }
  return out;
}

/** A BMP header with a given size and compression, and `body` as its pixel data. */
function bmpHeaderOnly(width: number, height: number, bits: number, compression: number, body: Buffer): Buffer {
  const header = Buffer.alloc(54 + (bits <= 8 ? 4 << bits : 0));
  header.write('BM', 0, 'ascii');
  header.writeUInt32LE(header.length + body.length, 2);
  header.writeUInt32LE(header.length, 10);
  header.writeUInt32LE(40, 14);
  header.writeInt32LE(width, 18);
  header.writeInt32LE(height, 22);
  header.writeUInt16LE(1, 26);
  header.writeUInt16LE(bits, 28);
  header.writeUInt32LE(compression, 30);
  return Buffer.concat([header, body]);
}

/** The JPEG with every byte of its entropy-coded data scrambled (headers intact, EOI kept). */
function scrambledScan(jpeg: Buffer): Buffer {
  const out = Buffer.from(jpeg);
  let i = 2;
  while (out[i + 1] !== 0xda) i += 2 + out.readUInt16BE(i + 2);
  const start = i + 2 + out.readUInt16BE(i + 2);
  let state = 99;
  for (let p = start; p < out.length - 2; p++) {
    state = (state * 1103515245 + 12345) >>> 0;
    out[p] = (state >>> 24) & 0xfe; // never 0xff: no accidental markers
  }
  return out;
}

/** Random bytes from a fixed seed. */
function noise(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let state = seed;
  for (let i = 0; i < length; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    out[i] = state >>> 24;
  }
  return out;
}

const half = (bytes: Buffer) => bytes.subarray(0, bytes.length >> 1);
const text = (s: string) => Buffer.from(s, 'utf8');

/** Every case, good files first. */
export async function hostileCases(): Promise<HostileCase[]> {
  const lesion = generateLesion({ width: 160, height: 120, seed: 21 });
  // Wider than tall, lesion off-centre: a decoder that ignores EXIF orientation gets another picture.
  const wide = generateLesion({ width: 200, height: 90, seed: 23 });
  const jpeg = await raw(lesion).removeAlpha().jpeg({ quality: 92 }).toBuffer();
  const png = await raw(lesion).png().toBuffer();
  const webp = await raw(lesion).webp({ quality: 90 }).toBuffer();
  const gif = await raw(lesion).gif().toBuffer();
  const avif = await raw(lesion).avif({ quality: 70, effort: 0 }).toBuffer();
  const bmp = encodeBmp(lesion);
  // Two frames stacked vertically: the first is the lesion, the second plain grey.
  const frames = {
    ...lesion,
    height: lesion.height * 2,
    data: new Uint8Array([...lesion.data, ...new Uint8Array(lesion.data.length).fill(128)]),
  };
  const animated = await sharp(Buffer.from(frames.data), { raw: { width: 160, height: 240, channels: 4, pageHeight: 120 } })
    .gif({ loop: 0, delay: [100, 100] })
    .toBuffer();
  const rotated = (format: 'jpeg' | 'png' | 'webp') => raw(wide)[format]().withMetadata({ orientation: 6 }).toBuffer();
  const tiff = await raw(lesion).tiff().toBuffer();

  const hugeWebp = Buffer.from(await raw(lesion).webp({ lossless: true }).toBuffer());
  const vp8x = Buffer.alloc(18);
  vp8x.write('VP8X', 0, 'ascii');
  vp8x.writeUInt32LE(10, 4);
  vp8x.writeUIntLE(19_999, 12, 3); // canvas width - 1
  vp8x.writeUIntLE(19_999, 15, 3); // canvas height - 1
  const bigCanvasWebp = Buffer.concat([hugeWebp.subarray(0, 12), vp8x, hugeWebp.subarray(12)]);
  bigCanvasWebp.writeUInt32LE(bigCanvasWebp.length - 8, 4);

  const hugeFrameGif = Buffer.from(gif);
  const descriptor = hugeFrameGif.indexOf(0x2c, 13 + (hugeFrameGif[10] & 0x80 ? 3 * (2 << (hugeFrameGif[10] & 7)) : 0));
  hugeFrameGif.writeUInt16LE(30_000, descriptor + 5);
  hugeFrameGif.writeUInt16LE(30_000, descriptor + 7);
  const hugePngHeader = Buffer.from(png);
  hugePngHeader.writeUInt32BE(20_000, 16);
  hugePngHeader.writeUInt32BE(20_000, 20);
  const zeroWidthPng = Buffer.from(png);
  zeroWidthPng.writeUInt32BE(0, 16);

  const html = '<!doctype html><html><head><title>Sign in</title></head><body><form><input name=user></form></body></html>';
  const svg =
    '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="200" height="200" onload="alert(1)"><script>alert(document.cookie)</script><circle cx="100" cy="100" r="60" fill="#8b5a3c"/></svg>';
  const pdf =
    '%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n';

  const cases: HostileCase[] = [
    { name: 'lesion.jpg', bytes: jpeg, expect: 'accept', contentType: 'image/jpeg' },
    { name: 'lesion.png', bytes: png, expect: 'accept', contentType: 'image/png' },
    { name: 'lesion.webp', bytes: webp, expect: 'accept', contentType: 'image/webp' },
    { name: 'lesion.bmp', bytes: bmp, expect: 'accept', contentType: 'image/bmp' },
    { name: 'lesion-32bit-top-down.bmp', bytes: encodeBmp(lesion, 32), expect: 'accept', contentType: 'image/bmp' },
    { name: 'lesion.gif', bytes: gif, expect: 'accept', contentType: 'image/gif' },
    { name: 'animated.gif', bytes: animated, expect: 'accept', contentType: 'image/gif' },
    { name: 'lesion.avif', bytes: avif, expect: 'accept', contentType: 'image/avif' },
    { name: 'exif-rotated.jpg', bytes: await rotated('jpeg'), expect: 'accept', contentType: 'image/jpeg' },
    { name: 'exif-rotated.png', bytes: await rotated('png'), expect: 'accept', contentType: 'image/png' },
    { name: 'exif-rotated.webp', bytes: await rotated('webp'), expect: 'accept', contentType: 'image/webp' },
    { name: 'png-named.jpg', bytes: png, expect: 'accept', contentType: 'image/jpeg' },
    { name: 'jpeg-named.png', bytes: jpeg, expect: 'accept', contentType: 'image/png' },
    { name: 'bmp-named.txt', bytes: bmp, expect: 'accept', contentType: 'text/plain' },

    { name: 'empty.jpg', bytes: Buffer.alloc(0), expect: IMAGE_REFUSALS.empty(), contentType: 'image/jpeg' },
    { name: 'drawing.svg', bytes: text(svg), expect: IMAGE_REFUSALS.svg(), contentType: 'image/svg+xml' },
    { name: 'svg-named.png', bytes: text(svg), expect: IMAGE_REFUSALS.svg(), contentType: 'image/png' },
    { name: 'document.pdf', bytes: text(pdf), expect: IMAGE_REFUSALS.pdf(), contentType: 'application/pdf' },
    { name: 'pdf-named.jpg', bytes: text(pdf), expect: IMAGE_REFUSALS.pdf(), contentType: 'image/jpeg' },
    { name: 'login.html', bytes: text(html), expect: IMAGE_REFUSALS.html(), contentType: 'text/html' },
    { name: 'html-named.jpg', bytes: text(`\ufeff  ${html}`), expect: IMAGE_REFUSALS.html(), contentType: 'image/jpeg' },
    {
      name: 'notes.txt',
      bytes: text('Mole on left arm, 4 mm, photographed 2024-05-01.\n'),
      expect: IMAGE_REFUSALS.text(),
      contentType: 'text/plain',
    },
    {
      name: 'text-named.png',
      bytes: text('BM is how this text starts, to look like a bitmap.\n'),
      expect: IMAGE_REFUSALS.text(),
      contentType: 'image/png',
    },
    { name: 'random.jpg', bytes: noise(4096, 5), expect: IMAGE_REFUSALS.unknown(), contentType: 'image/jpeg' },
    { name: 'scan.tiff', bytes: tiff, expect: IMAGE_REFUSALS.otherFormat('tiff'), contentType: 'image/tiff' },
    {
      name: 'jpeg-inside.bmp',
      bytes: bmpHeaderOnly(160, 120, 0, 4, jpeg),
      expect: IMAGE_REFUSALS.bmpVariant('a JPEG stored inside a BMP'),
      contentType: 'image/bmp',
    },

    { name: 'truncated.jpg', bytes: half(jpeg), expect: IMAGE_REFUSALS.truncated('image/jpeg'), contentType: 'image/jpeg' },
    { name: 'truncated.png', bytes: half(png), expect: IMAGE_REFUSALS.truncated('image/png'), contentType: 'image/png' },
    { name: 'truncated.webp', bytes: half(webp), expect: IMAGE_REFUSALS.truncated('image/webp'), contentType: 'image/webp' },
    { name: 'truncated.gif', bytes: half(gif), expect: IMAGE_REFUSALS.truncated('image/gif'), contentType: 'image/gif' },
    { name: 'truncated.bmp', bytes: half(bmp), expect: IMAGE_REFUSALS.truncated('image/bmp'), contentType: 'image/bmp' },
    { name: 'truncated.avif', bytes: half(avif), expect: IMAGE_REFUSALS.truncated('image/avif'), contentType: 'image/avif' },
    { name: 'header-only.png', bytes: png.subarray(0, 16), expect: IMAGE_REFUSALS.truncated('image/png'), contentType: 'image/png' },
    { name: 'zero-width.png', bytes: zeroWidthPng, expect: IMAGE_REFUSALS.damagedHeader('image/png'), contentType: 'image/png' },
    { name: 'scrambled.jpg', bytes: scrambledScan(jpeg), expect: 'accept', contentType: 'image/jpeg' },

    {
      name: 'declares-60000x60000.jpg',
      bytes: withDeclaredJpegSize(jpeg, 60_000, 60_000),
      expect: IMAGE_REFUSALS.tooManyPixels({ width: 60_000, height: 60_000 }),
      contentType: 'image/jpeg',
    },
    {
      name: 'declares-20000x20000.png',
      bytes: hugePngHeader,
      expect: IMAGE_REFUSALS.tooManyPixels({ width: 20_000, height: 20_000 }),
      contentType: 'image/png',
    },
    {
      name: 'bomb-12000x12000.png',
      bytes: solidPalettePng(12_000, 12_000, [200, 150, 120]),
      expect: IMAGE_REFUSALS.tooManyPixels({ width: 12_000, height: 12_000 }),
      contentType: 'image/png',
    },
    {
      name: 'bomb-20000x20000.webp',
      bytes: bigCanvasWebp,
      expect: IMAGE_REFUSALS.tooManyPixels({ width: 20_000, height: 20_000 }),
      contentType: 'image/webp',
    },
    {
      name: 'frame-30000x30000.gif',
      bytes: hugeFrameGif,
      expect: IMAGE_REFUSALS.tooManyPixels({ width: 30_000, height: 30_000 }),
      contentType: 'image/gif',
    },
    {
      name: 'rle-30000x30000.bmp',
      bytes: bmpHeaderOnly(30_000, 30_000, 8, 1, Buffer.from([0, 1])),
      expect: IMAGE_REFUSALS.tooManyPixels({ width: 30_000, height: 30_000 }),
      contentType: 'image/bmp',
    },
  ];
  return cases;
}
