// Host access for the image fetch, kept to the least the user must grant:
// - the context-menu click grants activeTab, which covers exactly the page's own origin (overlay + fetch);
// - an image on any other origin (a CDN, or the page's host on another port) needs that host, asked for
//   at first use through chrome.permissions.request, which must be called synchronously inside the click
//   handler (user gesture). Chrome answers at once, with no prompt, for a host granted before;
// - data: URLs need nothing, blob: URLs are read inside the page.
import { browser } from '../shared/browser.ts';
import { errorMessage } from '../shared/messages.ts';
import { originPattern, originsBeyondActiveTab, type HostAnswer } from './urls.ts';

/**
 * Call synchronously from contextMenus.onClicked (a user gesture is needed, and it ends at the first
 * await). Resolves to the user's answer (at once when granted before), or is null when activeTab covers
 * everything.
 */
export function requestHostAccessIfNeeded(srcUrl: string, pageUrl: string | undefined, frameUrl?: string): Promise<HostAnswer> | null {
  const origins = originsBeyondActiveTab(srcUrl, pageUrl, frameUrl);
  if (origins.length === 0) return null;
  return browser.permissions.request({ origins }).then(
    (granted): HostAnswer => (granted ? { kind: 'granted' } : { kind: 'denied' }),
    (error): HostAnswer => ({ kind: 'not-asked', reason: errorMessage(error) }),
  );
}

/** Whether a granted host permission covers the URL's host (false for data:, blob: and the like). */
export async function hostGranted(url: string): Promise<boolean> {
  const pattern = originPattern(url);
  if (!pattern) return false;
  try {
    return await browser.permissions.contains({ origins: [pattern] });
  } catch {
    return false;
  }
}
