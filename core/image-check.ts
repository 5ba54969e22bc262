// The one decision, and the one set of messages, on whether a file is an image DermLens reads. Both
// the CLI (trainer/data/images.ts, sharp) and the extension (extension/shared/decode.ts, createImageBitmap)
// call checkImageBytes before decoding and word a failed decode with IMAGE_REFUSALS.undecodable, so a
// file gets the same answer, word for word, in both. README's "Accepted images" table lists the same.
import {
  headerCutShort,
  isComplete,
  readImageSize,
  sniff,
  unsupportedBmpVariant,
  type ImageSize,
  type ImageType,
  type RefusedKind,
} from './image-format.ts';

export type { ImageType } from './image-format.ts';

/** Every format both decoders read, in the order messages list them. */
export const ACCEPTED_TYPES: readonly ImageType[] = ['image/jpeg', 'image/png', 'image/webp', 'image/bmp', 'image/gif', 'image/avif'];

/** Largest file read (bytes), checked before reading or downloading it all where possible. */
export const MAX_IMAGE_BYTES = 40 * 1024 * 1024;
/** Largest image (pixels): 40 MP is 160 MB of RGBA, about the most a tab or the CLI should hold at once. */
export const MAX_PIXELS = 40_000_000;
/** Largest side: beyond this Chrome's canvases fail or get slow. */
export const MAX_SIDE = 16_384;

export class ImageFileError extends Error {
  override name = 'ImageFileError';
}

const TYPE_LABELS: Record<ImageType, string> = {
  'image/jpeg': 'JPEG',
  'image/png': 'PNG',
  'image/webp': 'WebP',
  'image/gif': 'GIF',
  'image/bmp': 'BMP',
  'image/avif': 'AVIF',
};

/** 'image/webp' -> 'WebP', for messages. */
export function typeLabel(type: ImageType): string {
  return TYPE_LABELS[type];
}

/** Human-readable byte count for messages. */
export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  if (n >= 1024) return `${Math.round(n / 1024)} KB`;
  return `${n} bytes`;
}

const ACCEPTED = 'JPEG, PNG, WebP, BMP, GIF or AVIF';
const READS = `DermLens reads photos saved as ${ACCEPTED}`;

const REFUSED_NAMES: Record<Exclude<RefusedKind, 'svg' | 'pdf' | 'html' | 'text'>, string> = {
  tiff: 'TIFF images',
  heic: 'HEIC/HEIF photos',
  ico: 'Icon (ICO/CUR) files',
  psd: 'Photoshop (PSD) files',
  'jpeg-xl': 'JPEG XL images',
  'jpeg-2000': 'JPEG 2000 images',
  zip: 'ZIP archives',
  gzip: 'Gzip-compressed files (including SVGZ)',
};

/** Every message a refused file can get, in both the CLI and the extension. */
export const IMAGE_REFUSALS = {
  empty: () => 'The file is empty (0 bytes); save or download the image again.',
  tooManyBytes: (bytes: number) =>
    `The file is too large (${formatBytes(bytes)}); DermLens reads image files up to ${formatBytes(MAX_IMAGE_BYTES)}. Save a smaller copy.`,
  svg: () => `SVG drawings are not accepted: they can hold scripts and are not photos. ${READS}; export the picture as PNG or JPEG.`,
  pdf: () => `PDF documents are not accepted. ${READS}; export the page or photo as PNG or JPEG.`,
  html: () => `This is an HTML web page, not an image (a server may have sent an error or login page instead of the picture). ${READS}.`,
  text: () => `This is a text file, not an image. ${READS}.`,
  otherFormat: (kind: keyof typeof REFUSED_NAMES) => `${REFUSED_NAMES[kind]} are not accepted. ${READS}; convert it to PNG or JPEG first.`,
  unknown: () => `This file is not an image DermLens can read: its contents are not ${ACCEPTED}, whatever its name or type says.`,
  notAllowedHere: (type: ImageType, allowed: readonly ImageType[]) =>
    `${typeLabel(type)} files are not supported here; please use ${allowed.map(typeLabel).join(', ')}.`,
  bmpVariant: (what: string) => `This BMP file uses ${what}, which DermLens does not read; save it as PNG or JPEG first.`,
  damagedHeader: (type: ImageType) => `The ${typeLabel(type)} file is damaged: its header has no valid image size.`,
  tooManyPixels: ({ width, height }: ImageSize) =>
    `The image is too large (${width}x${height} pixels); DermLens reads up to ${MAX_PIXELS / 1e6} megapixels and ${MAX_SIDE} pixels per side. Resize it first.`,
  truncated: (type: ImageType) =>
    `The ${typeLabel(type)} file is incomplete (it ends before the image data does); download or save it again.`,
  undecodable: (type: ImageType, { width, height }: ImageSize) =>
    `The ${typeLabel(type)} image (${width}x${height}) is corrupt and could not be decoded.`,
} as const;

export interface CheckOptions {
  /** Formats accepted (default ACCEPTED_TYPES). */
  allowed?: readonly ImageType[];
  /** Where the bytes came from. The messages are the same for every source, by design; kept for callers that pass it. */
  source?: 'download' | 'file';
}

export interface CheckedImage extends ImageSize {
  type: ImageType;
}

/**
 * Decides from the bytes alone whether they are an image both decoders read, within the limits, and
 * returns its format and header size; otherwise throws an ImageFileError with IMAGE_REFUSALS' message.
 * `declaredMime` (a Content-Type header, a picked file's type) is not trusted and not used: the same
 * bytes get the same answer whatever they are called.
 */
export function checkImageBytes(bytes: Uint8Array, _declaredMime = '', { allowed = ACCEPTED_TYPES }: CheckOptions = {}): CheckedImage {
  const refuse = (message: string): never => {
    throw new ImageFileError(message);
  };
  if (bytes.length === 0) refuse(IMAGE_REFUSALS.empty());
  if (bytes.length > MAX_IMAGE_BYTES) refuse(IMAGE_REFUSALS.tooManyBytes(bytes.length));
  const sniffed = sniff(bytes);
  if ('unknown' in sniffed) refuse(IMAGE_REFUSALS.unknown());
  if ('refused' in sniffed) {
    const kind = sniffed.refused;
    refuse(
      kind === 'svg' || kind === 'pdf' || kind === 'html' || kind === 'text' ? IMAGE_REFUSALS[kind]() : IMAGE_REFUSALS.otherFormat(kind),
    );
  }
  const type = (sniffed as { image: ImageType }).image;
  if (!allowed.includes(type)) refuse(IMAGE_REFUSALS.notAllowedHere(type, allowed));
  const variant = type === 'image/bmp' ? unsupportedBmpVariant(bytes) : null;
  if (variant) refuse(IMAGE_REFUSALS.bmpVariant(variant));
  // A file cut off inside its header has no size either: that is a truncated file, not a damaged one.
  const size =
    readImageSize(bytes, type) ?? refuse(headerCutShort(bytes, type) ? IMAGE_REFUSALS.truncated(type) : IMAGE_REFUSALS.damagedHeader(type));
  // Before anything is decoded: a 60000x60000 header costs nothing to read and 14 GB to decode.
  if (size.width > MAX_SIDE || size.height > MAX_SIDE || size.width * size.height > MAX_PIXELS) refuse(IMAGE_REFUSALS.tooManyPixels(size));
  if (!isComplete(bytes, type)) refuse(IMAGE_REFUSALS.truncated(type));
  return { type, ...size };
}
