// Pure byte-level checks on image files, run before anything is decoded: what format the bytes really
// are (servers mislabel, and an HTML error page served as "image.jpg" must not reach the decoder), and
// how large the image is (read from the header, so a 30000x30000 image is refused before it costs
// 3.6 GB of RGBA). No DOM use, so Node unit tests cover it.

export type SniffedType = 'image/jpeg' | 'image/png' | 'image/webp' | 'image/gif' | 'image/bmp' | 'image/avif';

/** Formats the popup accepts for upload (the list). */
export const UPLOAD_TYPES: readonly SniffedType[] = ['image/jpeg', 'image/png', 'image/webp'];

/** Largest file we download or accept (bytes). */
export const MAX_IMAGE_BYTES = 40 * 1024 * 1024;
/** Largest decoded image (pixels): 40 MP is 160 MB of RGBA, about the most a tab should hold at once. */
export const MAX_PIXELS = 40_000_000;
/** Largest side: beyond this Chrome's canvases fail or get slow. */
export const MAX_SIDE = 16_384;

export class ImageFileError extends Error {
  override name = 'ImageFileError';
}

const TYPE_LABELS: Record<SniffedType, string> = {
  'image/jpeg': 'JPEG', 'image/png': 'PNG', 'image/webp': 'WebP', 'image/gif': 'GIF', 'image/bmp': 'BMP', 'image/avif': 'AVIF',
};

/** 'image/webp' -> 'WebP', for messages. */
export function typeLabel(type: SniffedType): string {
  return TYPE_LABELS[type];
}

const ascii = (bytes: Uint8Array, at: number, length: number): string =>
  String.fromCharCode(...bytes.subarray(at, at + length));

/** The image format from the file's magic bytes, or null when it is not one we can decode. */
export function sniffImageType(bytes: Uint8Array): SniffedType | null {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  if (bytes.length >= 8 && bytes[0] === 0x89 && ascii(bytes, 1, 3) === 'PNG' && bytes[4] === 0x0d && bytes[5] === 0x0a) return 'image/png';
  if (bytes.length >= 12 && ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 4) === 'WEBP') return 'image/webp';
  if (bytes.length >= 6 && (ascii(bytes, 0, 6) === 'GIF87a' || ascii(bytes, 0, 6) === 'GIF89a')) return 'image/gif';
  if (bytes.length >= 26 && ascii(bytes, 0, 2) === 'BM') return 'image/bmp';
  if (bytes.length >= 12 && ascii(bytes, 4, 4) === 'ftyp' && /^avi[fs]$/.test(ascii(bytes, 8, 4))) return 'image/avif';
  return null;
}

const u16be = (b: Uint8Array, i: number) => (b[i] << 8) | b[i + 1];
const u16le = (b: Uint8Array, i: number) => b[i] | (b[i + 1] << 8);
const u24le = (b: Uint8Array, i: number) => b[i] | (b[i + 1] << 8) | (b[i + 2] << 16);
const u32be = (b: Uint8Array, i: number) => ((b[i] << 24) >>> 0) + ((b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]);
const i32le = (b: Uint8Array, i: number) => b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24);

function jpegSize(b: Uint8Array): { width: number; height: number } | null {
  let i = 2;
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) return null;
    const marker = b[i + 1];
    if (marker === 0xff) { i++; continue; } // fill byte
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) { i += 2; continue; }
    if (marker === 0xd9 || marker === 0xda) return null; // end of image / start of scan before any frame header
    const length = u16be(b, i + 2);
    // SOF0..SOF15 carry the frame size; C4 (DHT), C8 (JPG) and CC (DAC) share the range but do not.
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { height: u16be(b, i + 5), width: u16be(b, i + 7) };
    }
    i += 2 + length;
  }
  return null;
}

function webpSize(b: Uint8Array): { width: number; height: number } | null {
  const chunk = ascii(b, 12, 4);
  if (chunk === 'VP8 ' && b.length >= 30) return { width: u16le(b, 26) & 0x3fff, height: u16le(b, 28) & 0x3fff };
  if (chunk === 'VP8L' && b.length >= 25 && b[20] === 0x2f) {
    const [b0, b1, b2, b3] = [b[21], b[22], b[23], b[24]];
    return { width: 1 + (((b1 & 0x3f) << 8) | b0), height: 1 + (((b3 & 0x0f) << 10) | (b2 << 2) | ((b1 & 0xc0) >> 6)) };
  }
  if (chunk === 'VP8X' && b.length >= 30) return { width: 1 + u24le(b, 24), height: 1 + u24le(b, 27) };
  return null;
}

/** The 'ispe' (image spatial extent) property of an AVIF/HEIF file, searched for in its first 64 KB. */
function avifSize(b: Uint8Array): { width: number; height: number } | null {
  const end = Math.min(b.length - 16, 65536);
  for (let i = 0; i < end; i++) {
    if (b[i] === 0x69 && b[i + 1] === 0x73 && b[i + 2] === 0x70 && b[i + 3] === 0x65) { // 'ispe'
      return { width: u32be(b, i + 8), height: u32be(b, i + 12) };
    }
  }
  return null;
}

/** Width and height from the file header, without decoding; null if the header is damaged or truncated. */
export function readImageSize(bytes: Uint8Array, type: SniffedType): { width: number; height: number } | null {
  let size: { width: number; height: number } | null = null;
  switch (type) {
    case 'image/png': size = bytes.length >= 24 && ascii(bytes, 12, 4) === 'IHDR' ? { width: u32be(bytes, 16), height: u32be(bytes, 20) } : null; break;
    case 'image/gif': size = bytes.length >= 10 ? { width: u16le(bytes, 6), height: u16le(bytes, 8) } : null; break;
    case 'image/bmp': size = { width: Math.abs(i32le(bytes, 18)), height: Math.abs(i32le(bytes, 22)) }; break;
    case 'image/jpeg': size = jpegSize(bytes); break;
    case 'image/webp': size = webpSize(bytes); break;
    case 'image/avif': size = avifSize(bytes); break;
  }
  return size && size.width > 0 && size.height > 0 ? size : null;
}

/** Human-readable byte count for messages. */
export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  if (n >= 1024) return `${Math.round(n / 1024)} KB`;
  return `${n} bytes`;
}

/**
 * Decides whether bytes are an image we will decode, and returns its format and size; otherwise throws
 * an ImageFileError whose message says what was wrong. `declaredMime` is the Content-Type header or the
 * picked file's type, used only to explain a refusal (e.g. "the address returned text/html").
 */
export interface CheckOptions {
  /** Formats accepted (default: every format sniffImageType knows). */
  allowed?: readonly SniffedType[];
  /** Where the bytes came from, for the wording of a refusal. */
  source?: 'download' | 'file';
}

export function checkImageBytes(bytes: Uint8Array, declaredMime: string, { allowed, source = 'download' }: CheckOptions = {}): { type: SniffedType; width: number; height: number } {
  const declared = declaredMime.split(';')[0].trim().toLowerCase();
  if (bytes.length === 0) throw new ImageFileError('The image is empty (0 bytes).');
  if (bytes.length > MAX_IMAGE_BYTES) {
    throw new ImageFileError(`The image file is too large (${formatBytes(bytes.length)}); the limit is ${formatBytes(MAX_IMAGE_BYTES)}.`);
  }
  const type = sniffImageType(bytes);
  if (!type) {
    if (declared === 'image/svg+xml') throw new ImageFileError('SVG drawings are not supported; use a photo (JPEG, PNG or WebP).');
    if (declared.startsWith('image/')) throw new ImageFileError(`The file says it is ${declared}, but its contents are not a readable image (corrupt or unsupported format).`);
    if (source === 'file') throw new ImageFileError(`This file is ${declared || 'of an unknown type'}, not a JPEG, PNG or WebP image.`);
    const what = declared ? `${declared}, not an image` : 'something that is not an image';
    throw new ImageFileError(`The address returned ${what}. The server may have sent an error or login page instead of the picture.`);
  }
  if (allowed && !allowed.includes(type)) {
    const names = allowed.map(typeLabel).join(', ');
    throw new ImageFileError(`${typeLabel(type)} files are not supported here; please use ${names}.`);
  }
  const size = readImageSize(bytes, type);
  if (!size) throw new ImageFileError(`The ${typeLabel(type)} file is damaged: its header has no valid image size.`);
  const { width, height } = size;
  if (width > MAX_SIDE || height > MAX_SIDE || width * height > MAX_PIXELS) {
    throw new ImageFileError(
      `The image is too large (${width}x${height} pixels); DermLens accepts up to ${MAX_PIXELS / 1e6} megapixels and ${MAX_SIDE} pixels per side.`,
    );
  }
  return { type, width, height };
}

// ---- base64, because runtime messages are JSON ---------------------------------------------------

export function bytesToBase64(bytes: Uint8Array): string {
  let binary = '';
  const chunk = 0x8000; // String.fromCharCode's argument count is limited
  for (let i = 0; i < bytes.length; i += chunk) binary += String.fromCharCode(...bytes.subarray(i, i + chunk));
  return btoa(binary);
}

export function base64ToBytes(base64: string): Uint8Array {
  let binary: string;
  try {
    binary = atob(base64);
  } catch {
    throw new ImageFileError('The image data arrived damaged (invalid base64).');
  }
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
