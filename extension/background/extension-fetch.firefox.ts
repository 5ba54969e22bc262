// Firefox's answer for extension-fetch.ts: its activeTab does not let the extension download the page's
// images (only a granted host permission does), so without one the download would fail after a round trip
// to the server; classify-flow.ts then reads the image in the page at once instead.
import { hostGranted } from './host-access.ts';

export async function extensionMayFetch(srcUrl: string): Promise<boolean> {
  return srcUrl.startsWith('data:') || hostGranted(srcUrl);
}
