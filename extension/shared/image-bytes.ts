// Image bytes in the extension: the format and limit checks are core/image-check.ts' (shared with the
// CLI, so both give a file the same answer), re-exported under the names the extension uses; base64
// lives here because runtime messages are JSON.
import { ACCEPTED_TYPES, ImageFileError, type ImageType } from '../../core/image-check.ts';

export {
  ACCEPTED_TYPES,
  checkImageBytes,
  formatBytes,
  ImageFileError,
  MAX_IMAGE_BYTES,
  MAX_PIXELS,
  MAX_SIDE,
  typeLabel,
  type CheckOptions,
  type ImageType,
} from '../../core/image-check.ts';
export { readImageSize, sniffImageType } from '../../core/image-format.ts';

export type SniffedType = ImageType;

/** Formats the popup accepts for upload: every format the right-click path and the CLI accept. */
export const UPLOAD_TYPES: readonly ImageType[] = ACCEPTED_TYPES;

export function bytesToBase64(bytes: Uint8Array): string {
  let binary = '';
  const chunk = 0x8000; // String.fromCharCode's argument count is limited
  for (let i = 0; i < bytes.length; i += chunk) binary += String.fromCharCode(...bytes.subarray(i, i + chunk));
  return btoa(binary);
}

/**
 * A blob's bytes as base64, read by FileReader. Content scripts use this rather than bytesToBase64 on
 * blob.arrayBuffer(): in Firefox a content script's fetch() answers with objects of the page's
 * compartment, and copying their bytes fails there ("Permission denied to access property
 * "constructor""); the data: URL FileReader makes is a plain string.
 */
export function blobToBase64(blob: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).slice(String(reader.result).indexOf(',') + 1));
    reader.onerror = () => reject(reader.error ?? new Error('The image could not be read.'));
    reader.readAsDataURL(blob);
  });
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
