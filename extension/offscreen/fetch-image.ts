// Downloads the right-clicked image from the extension's origin. Extension pages are exempt from CORS
// for hosts the extension may access (activeTab's tab origin, or an optional host permission the user
// granted), so images without CORS headers work; for other hosts the fetch fails and the service worker
// falls back to reading the image from inside the page.
import { IMAGE_REFUSALS, MAX_IMAGE_BYTES } from '../../core/image-check.ts';
import { ReplyError } from '../shared/requests.ts';

export interface FetchedImage {
  bytes: Uint8Array;
  mime: string;
}

function hostOf(url: string): string {
  if (url.startsWith('data:')) return 'a data: URL';
  try {
    return new URL(url).host || url.slice(0, 40);
  } catch {
    return url.slice(0, 40);
  }
}

export async function fetchImage(url: string): Promise<FetchedImage> {
  let response: Response;
  try {
    response = await fetch(url, { credentials: 'omit', redirect: 'follow' });
  } catch {
    throw new ReplyError(
      `Could not download the image from ${hostOf(url)} (network error, or DermLens has no access to that site).`,
      'fetch-blocked',
    );
  }
  if (!response.ok) {
    const status = `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
    const auth = response.status === 401 || response.status === 403;
    throw new ReplyError(`The image address returned ${status} instead of the image.`, auth ? 'http-auth' : undefined);
  }
  const length = Number(response.headers.get('content-length') ?? 0);
  if (length > MAX_IMAGE_BYTES) {
    throw new ReplyError(IMAGE_REFUSALS.tooManyBytes(length)); // refused before the download, as the CLI refuses before reading
  }
  const bytes = new Uint8Array(await response.arrayBuffer());
  return { bytes, mime: response.headers.get('content-type') ?? '' };
}
