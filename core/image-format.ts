// What an image file's bytes really are, read from the bytes alone: magic bytes, not the file name,
// extension or MIME type (servers mislabel, and an HTML error page served as "photo.jpg" must not
// reach a decoder). Also the header's width and height and whether the file is complete, so that
// core/image-check.ts can refuse a decompression bomb or a truncated download before anything is
// decoded. Pure byte parsing, no DOM and no Node APIs: the CLI (trainer/data/images.ts) and the extension
// (extension/shared/decode.ts) both call it, so they cannot disagree about a file.

/** The formats both decoders read (sharp in Node, createImageBitmap in Chromium). */
export type ImageType = 'image/jpeg' | 'image/png' | 'image/webp' | 'image/gif' | 'image/bmp' | 'image/avif';

/** Formats and documents recognised only to be refused with a message that names them. */
export type RefusedKind = 'svg' | 'pdf' | 'html' | 'text' | 'tiff' | 'heic' | 'ico' | 'psd' | 'jpeg-xl' | 'jpeg-2000' | 'zip' | 'gzip';

export type Sniffed = { image: ImageType } | { refused: RefusedKind } | { unknown: true };

export interface ImageSize {
  width: number;
  height: number;
}

const ascii = (bytes: Uint8Array, at: number, length: number): string => String.fromCharCode(...bytes.subarray(at, at + length));
const u16be = (b: Uint8Array, i: number) => (b[i] << 8) | b[i + 1];
const u16le = (b: Uint8Array, i: number) => b[i] | (b[i + 1] << 8);
const u24le = (b: Uint8Array, i: number) => b[i] | (b[i + 1] << 8) | (b[i + 2] << 16);
const u32be = (b: Uint8Array, i: number) => ((b[i] << 24) >>> 0) + ((b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]);
const u32le = (b: Uint8Array, i: number) => (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16)) + ((b[i + 3] << 24) >>> 0);
const i32le = (b: Uint8Array, i: number) => b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24);

/** The ISO base media file ('ftyp') major brand, e.g. 'avif', 'heic'; null if the file is not one. */
function ftypBrand(b: Uint8Array): string | null {
  return b.length >= 12 && ascii(b, 4, 4) === 'ftyp' ? ascii(b, 8, 4) : null;
}

/** The image format from the file's magic bytes. */
export function sniffImageType(bytes: Uint8Array): ImageType | null {
  const b = bytes;
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'image/jpeg';
  if (b.length >= 8 && b[0] === 0x89 && ascii(b, 1, 3) === 'PNG' && b[4] === 0x0d && b[5] === 0x0a && b[6] === 0x1a && b[7] === 0x0a)
    return 'image/png';
  if (b.length >= 12 && ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 4) === 'WEBP') return 'image/webp';
  if (b.length >= 6 && (ascii(b, 0, 6) === 'GIF87a' || ascii(b, 0, 6) === 'GIF89a')) return 'image/gif';
  // 'BM' alone is too weak (a text file may start with it): also ask for a known info-header size.
  if (b.length >= 18 && ascii(b, 0, 2) === 'BM' && [12, 40, 52, 56, 64, 108, 124].includes(u32le(b, 14))) return 'image/bmp';
  if (/^avi[fs]$/.test(ftypBrand(b) ?? '')) return 'image/avif';
  return null;
}

/** Text after a byte-order mark and leading whitespace, lower-cased, for sniffing documents. */
function leadingText(b: Uint8Array, length: number): string {
  let start = b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? 3 : 0;
  while (start < b.length && (b[start] === 0x20 || (b[start] >= 0x09 && b[start] <= 0x0d))) start++;
  return ascii(b, start, length).toLowerCase();
}

/** True when the first KB is printable UTF-8 text (control characters other than whitespace mean binary). */
function looksLikeText(b: Uint8Array): boolean {
  const head = b.subarray(0, 1024);
  for (const c of head) if (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d && c !== 0x0c) return false;
  try {
    // A multi-byte character cut at 1024 bytes is not an error: decode in streaming mode.
    new TextDecoder('utf-8', { fatal: true }).decode(head, { stream: true });
    return true;
  } catch {
    return false;
  }
}

/** What the bytes are: an image we read, a kind we refuse by name, or something unknown. */
export function sniff(bytes: Uint8Array): Sniffed {
  const image = sniffImageType(bytes);
  if (image) return { image };
  const b = bytes;
  if (ascii(b, 0, 1024).includes('%PDF-')) return { refused: 'pdf' };
  if ((b[0] === 0x49 && b[1] === 0x49 && b[2] === 0x2a && b[3] === 0) || (b[0] === 0x4d && b[1] === 0x4d && b[2] === 0 && b[3] === 0x2a))
    return { refused: 'tiff' };
  const brand = ftypBrand(b);
  if (brand && /^(hei[cxms]|hev[cxms]|mif1|msf1)$/.test(brand)) return { refused: 'heic' };
  if (b.length >= 6 && b[0] === 0 && b[1] === 0 && (b[2] === 1 || b[2] === 2) && b[3] === 0 && b[4] > 0) return { refused: 'ico' };
  if (ascii(b, 0, 4) === '8BPS') return { refused: 'psd' };
  if ((b[0] === 0xff && b[1] === 0x0a) || ascii(b, 4, 4) === 'JXL ') return { refused: 'jpeg-xl' };
  if (ascii(b, 4, 4) === 'jP  ' || (b[0] === 0xff && b[1] === 0x4f && b[2] === 0xff && b[3] === 0x51)) return { refused: 'jpeg-2000' };
  if (ascii(b, 0, 4) === 'PK\x03\x04') return { refused: 'zip' };
  if (b[0] === 0x1f && b[1] === 0x8b) return { refused: 'gzip' }; // includes .svgz
  if (!looksLikeText(b)) return { unknown: true };
  const text = leadingText(b, 4096);
  if (/^<svg[\s>]/.test(text) || /^<!doctype svg/.test(text) || (/^<\?xml/.test(text) && /<svg[\s>]/.test(text))) return { refused: 'svg' };
  if (/^<\?xml/.test(text) && /<html[\s>]/.test(text)) return { refused: 'html' }; // XHTML
  if (/^(<!doctype html|<html|<head|<body|<script|<!--|<meta|<title|<div|<p[\s>]|<a[\s>]|<iframe|<style|<table|<h[1-6][\s>])/.test(text))
    return { refused: 'html' };
  return { refused: 'text' };
}

// ---- header sizes ------------------------------------------------------------------------------

/** How a walk over a JPEG's header segments ended. */
type JpegWalkEnd = 'scan' | 'end-of-image' | 'bad-marker' | 'cut-short';

/**
 * Visits a JPEG's segments before the first scan as (marker, offset of the marker); says how the walk
 * ended, so a header cut short (a truncated download) is told apart from bytes that are not markers.
 */
function walkJpeg(b: Uint8Array, visit: (marker: number, at: number) => void = () => {}): JpegWalkEnd {
  let i = 2;
  while (i + 3 < b.length) {
    if (b[i] !== 0xff) return 'bad-marker';
    const marker = b[i + 1];
    if (marker === 0xff) {
      i++;
      continue;
    } // fill byte
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2;
      continue;
    }
    if (marker === 0xd9) return 'end-of-image';
    if (marker < 0xc0) return 'bad-marker'; // 02-BF are reserved: not a JPEG header, whatever follows
    visit(marker, i);
    if (marker === 0xda) return 'scan'; // entropy-coded data follows
    i += 2 + u16be(b, i + 2);
  }
  return 'cut-short';
}

const isJpegFrameHeader = (marker: number) => marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;

function jpegSize(b: Uint8Array): ImageSize | null {
  let size: ImageSize | null = null;
  let found = false;
  walkJpeg(b, (marker, i) => {
    // The first SOF0..SOF15 carries the frame size; C4 (DHT), C8 (JPG) and CC (DAC) share the range but do not.
    if (found || !isJpegFrameHeader(marker)) return;
    found = true;
    if (i + 9 <= b.length) size = { height: u16be(b, i + 5), width: u16be(b, i + 7) };
  });
  return size;
}

function webpSize(b: Uint8Array): ImageSize | null {
  const chunk = ascii(b, 12, 4);
  if (chunk === 'VP8 ' && b.length >= 30) return { width: u16le(b, 26) & 0x3fff, height: u16le(b, 28) & 0x3fff };
  if (chunk === 'VP8L' && b.length >= 25 && b[20] === 0x2f) {
    const [b0, b1, b2, b3] = [b[21], b[22], b[23], b[24]];
    return { width: 1 + (((b1 & 0x3f) << 8) | b0), height: 1 + (((b3 & 0x0f) << 10) | (b2 << 2) | ((b1 & 0xc0) >> 6)) };
  }
  if (chunk === 'VP8X' && b.length >= 30) return { width: 1 + u24le(b, 24), height: 1 + u24le(b, 27) };
  return null;
}

/** Skips a GIF's extension blocks and returns the offset of the first image descriptor, or -1. */
function gifFirstImage(b: Uint8Array): number {
  let i = 13 + (b[10] & 0x80 ? 3 * (2 << (b[10] & 7)) : 0); // header + logical screen + global colour table
  while (i < b.length) {
    if (b[i] === 0x2c) return i;
    if (b[i] !== 0x21) return -1; // trailer (no image at all) or garbage
    i += 2;
    const end = skipSubBlocks(b, i);
    if (end < 0) return -1;
    i = end;
  }
  return -1;
}

/** The offset after a chain of GIF data sub-blocks starting at i (after its 0 terminator), or -1. */
function skipSubBlocks(b: Uint8Array, i: number): number {
  while (i < b.length) {
    const size = b[i];
    i += 1 + size;
    if (size === 0) return i;
  }
  return -1;
}

/**
 * A GIF's size: the larger of its logical screen and its first frame (decoders allocate for the
 * frame, so a small screen with a huge first frame is still a bomb).
 */
function gifSize(b: Uint8Array): ImageSize | null {
  if (b.length < 13) return null;
  const screen = { width: u16le(b, 6), height: u16le(b, 8) };
  const at = gifFirstImage(b);
  if (at < 0 || at + 10 > b.length) return screen;
  const frameRight = u16le(b, at + 1) + u16le(b, at + 5);
  const frameBottom = u16le(b, at + 3) + u16le(b, at + 7);
  return { width: Math.max(screen.width, frameRight), height: Math.max(screen.height, frameBottom) };
}

/** The 'ispe' (image spatial extent) property of an AVIF file, searched for in its first 64 KB. */
function avifSize(b: Uint8Array): ImageSize | null {
  const end = Math.min(b.length - 16, 65536);
  for (let i = 0; i < end; i++) {
    if (b[i] === 0x69 && b[i + 1] === 0x73 && b[i + 2] === 0x70 && b[i + 3] === 0x65) {
      // 'ispe'
      return { width: u32be(b, i + 8), height: u32be(b, i + 12) };
    }
  }
  return null;
}

/** Width and height from the file header, without decoding; null if the header is damaged or truncated. */
export function readImageSize(bytes: Uint8Array, type: ImageType): ImageSize | null {
  let size: ImageSize | null = null;
  switch (type) {
    case 'image/png':
      size = bytes.length >= 24 && ascii(bytes, 12, 4) === 'IHDR' ? { width: u32be(bytes, 16), height: u32be(bytes, 20) } : null;
      break;
    case 'image/gif':
      size = gifSize(bytes);
      break;
    case 'image/bmp':
      size = bmpHeader(bytes)?.size ?? null;
      break;
    case 'image/jpeg':
      size = jpegSize(bytes);
      break;
    case 'image/webp':
      size = webpSize(bytes);
      break;
    case 'image/avif':
      size = avifSize(bytes);
      break;
  }
  return size && size.width > 0 && size.height > 0 ? size : null;
}

// ---- BMP ---------------------------------------------------------------------------------------

export interface BmpHeader {
  size: ImageSize;
  bitsPerPixel: number;
  /** BI_RGB 0, BI_RLE8 1, BI_RLE4 2, BI_BITFIELDS 3, BI_JPEG 4, BI_PNG 5, BI_ALPHABITFIELDS 6. */
  compression: number;
  dataOffset: number;
}

export function bmpHeader(b: Uint8Array): BmpHeader | null {
  if (b.length < 30) return null;
  const infoSize = u32le(b, 14);
  if (infoSize === 12) {
    // OS/2 1.x core header: 16-bit sizes, never compressed
    return { size: { width: u16le(b, 18), height: u16le(b, 20) }, bitsPerPixel: u16le(b, 24), compression: 0, dataOffset: u32le(b, 10) };
  }
  if (b.length < 34) return null;
  return {
    size: { width: Math.abs(i32le(b, 18)), height: Math.abs(i32le(b, 22)) },
    bitsPerPixel: u16le(b, 28),
    compression: u32le(b, 30),
    dataOffset: u32le(b, 10),
  };
}

/** Why a BMP that both decoders cannot read alike is refused (a JPEG/PNG inside a BMP, odd depths), or null. */
export function unsupportedBmpVariant(b: Uint8Array): string | null {
  const header = bmpHeader(b);
  if (!header) return null;
  const { bitsPerPixel, compression } = header;
  if (compression === 4 || compression === 5) return `a ${compression === 4 ? 'JPEG' : 'PNG'} stored inside a BMP`;
  if (![1, 4, 8, 16, 24, 32].includes(bitsPerPixel)) return `${bitsPerPixel} bits per pixel`;
  if (compression > 6) return `compression method ${compression}`;
  return null;
}

// ---- completeness ------------------------------------------------------------------------------

/** True when the JPEG's entropy-coded data ends with an end-of-image marker (FF D9). */
function jpegComplete(b: Uint8Array): boolean {
  let scan = -1;
  if (
    walkJpeg(b, (marker, i) => {
      if (marker === 0xda) scan = i;
    }) !== 'scan'
  )
    return false;
  // In entropy-coded data FF is followed only by 00 (stuffing), D0-D7 (restarts) or another marker,
  // so the first FF D9 after the first scan is the end of the image.
  for (let i = scan + 2; i + 1 < b.length; i++) if (b[i] === 0xff && b[i + 1] === 0xd9) return true;
  return false;
}

/** True when every PNG chunk fits in the file up to IEND. */
function pngComplete(b: Uint8Array): boolean {
  let i = 8;
  while (i + 12 <= b.length) {
    const length = u32be(b, i);
    const type = ascii(b, i + 4, 4);
    i += 12 + length;
    if (i > b.length) return false;
    if (type === 'IEND') return true;
  }
  return false;
}

/** True when the first frame's image data (all we decode) is in the file. */
function gifComplete(b: Uint8Array): boolean {
  const at = gifFirstImage(b);
  if (at < 0 || at + 10 > b.length) return false;
  let i = at + 10 + (b[at + 9] & 0x80 ? 3 * (2 << (b[at + 9] & 7)) : 0); // descriptor + local colour table
  i += 1; // LZW minimum code size
  return i <= b.length && skipSubBlocks(b, i) > 0;
}

/** True when an ISO-BMFF file's top-level boxes (ftyp, meta, mdat) all fit in the file. */
function boxesComplete(b: Uint8Array): boolean {
  let i = 0;
  while (i + 8 <= b.length) {
    let size = u32be(b, i);
    if (size === 1) size = i + 16 <= b.length ? u32be(b, i + 8) * 2 ** 32 + u32be(b, i + 12) : Infinity;
    else if (size === 0) return true; // the last box runs to the end of the file
    if (size < 8) return false;
    i += size;
  }
  return i <= b.length; // past the end: the last box is cut short
}

function bmpComplete(b: Uint8Array): boolean {
  const header = bmpHeader(b);
  if (!header) return false;
  const { size, bitsPerPixel, compression, dataOffset } = header;
  if (compression === 1 || compression === 2) return dataOffset < b.length; // RLE: length unknown until decoded
  const rowBytes = Math.ceil((size.width * bitsPerPixel) / 32) * 4;
  return dataOffset + rowBytes * size.height <= b.length;
}

/**
 * True when the file ends inside its header, before the image size: a truncated file rather than a
 * damaged one (whose header is complete but holds no valid size, or is not a header at all).
 */
export function headerCutShort(bytes: Uint8Array, type: ImageType): boolean {
  switch (type) {
    case 'image/jpeg':
      return walkJpeg(bytes) === 'cut-short';
    case 'image/png':
      return bytes.length < 24;
    case 'image/gif':
      return bytes.length < 13;
    case 'image/webp':
      return bytes.length < 30;
    case 'image/bmp':
      return bytes.length < 34;
    case 'image/avif':
      return !boxesComplete(bytes);
  }
}

/**
 * True when the file holds all the data its header promises. Chromium shows a truncated JPEG, PNG
 * or BMP with the missing part grey or transparent while sharp refuses it; both paths refuse it here
 * instead, since classifying half a picture would be a dishonest answer.
 */
export function isComplete(bytes: Uint8Array, type: ImageType): boolean {
  switch (type) {
    case 'image/jpeg':
      return jpegComplete(bytes);
    case 'image/png':
      return pngComplete(bytes);
    case 'image/gif':
      return gifComplete(bytes);
    case 'image/webp':
      return bytes.length >= u32le(bytes, 4) + 8;
    case 'image/bmp':
      return bmpComplete(bytes);
    case 'image/avif':
      return boxesComplete(bytes);
  }
}

// ---- EXIF orientation --------------------------------------------------------------------------

/** The Orientation tag (0x0112) of a TIFF-structured EXIF block starting at `at`; 1 when absent. */
function tiffOrientation(b: Uint8Array, at: number): number {
  if (ascii(b, at, 6) === 'Exif\0\0') at += 6;
  const little = ascii(b, at, 2) === 'II';
  if (!little && ascii(b, at, 2) !== 'MM') return 1;
  const u16 = (i: number) => (little ? u16le(b, at + i) : u16be(b, at + i));
  const u32 = (i: number) => (little ? u32le(b, at + i) : u32be(b, at + i));
  const ifd = u32(4);
  if (at + ifd + 2 > b.length) return 1;
  const entries = u16(ifd);
  for (let e = 0; e < entries; e++) {
    const entry = ifd + 2 + e * 12;
    if (at + entry + 12 > b.length) return 1;
    if (u16(entry) === 0x0112) {
      const value = u16(entry + 8);
      return value >= 1 && value <= 8 ? value : 1;
    }
  }
  return 1;
}

/**
 * The EXIF orientation (1-8) of a WebP file, from its EXIF chunk; 1 when it has none. sharp applies
 * it; Chromium's WebP decoder ignores it (it honours JPEG's, PNG's and AVIF's), so the extension
 * applies this one itself (extension/shared/decode.ts).
 */
export function webpOrientation(b: Uint8Array): number {
  let i = 12;
  while (i + 8 <= b.length) {
    const size = u32le(b, i + 4);
    if (ascii(b, i, 4) === 'EXIF') return tiffOrientation(b, i + 8);
    i += 8 + size + (size & 1);
  }
  return 1;
}

/**
 * The EXIF orientation (1-8) of a JPEG file, from its APP1 "Exif" segment; 1 when it has none. sharp
 * applies it (the CLI's .rotate()); decoders that do not (the VS Code extension's libjpeg-turbo build)
 * turn the pixels upright with it.
 */
export function jpegOrientation(b: Uint8Array): number {
  let i = 2;
  while (i + 4 <= b.length && b[i] === 0xff) {
    const marker = b[i + 1];
    if (marker === 0xda || marker === 0xd9) break; // image data or end: no EXIF before it
    const length = u16be(b, i + 2);
    if (marker === 0xe1 && ascii(b, i + 4, 6) === 'Exif\0\0') return tiffOrientation(b, i + 4);
    i += 2 + length;
  }
  return 1;
}

/** The EXIF orientation (1-8) of a PNG file, from its eXIf chunk; 1 when it has none (sharp applies it). */
export function pngOrientation(b: Uint8Array): number {
  let i = 8;
  while (i + 8 <= b.length) {
    const size = u32be(b, i);
    const type = ascii(b, i + 4, 4);
    if (type === 'eXIf') return tiffOrientation(b, i + 8);
    if (type === 'IDAT' || type === 'IEND') break; // eXIf must come before the image data
    i += 12 + size;
  }
  return 1;
}
