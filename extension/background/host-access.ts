// Host access for the image fetch, kept to the least the user must grant:
// - the context-menu click grants activeTab, which covers the page's own origin (overlay + fetch);
// - an image on another origin (a CDN) needs that one origin, asked for at first use through
//   chrome.permissions.request, which must be called synchronously inside the click handler (user gesture);
// - data: URLs need nothing, blob: URLs are read inside the page.
import { browser } from '../shared/browser.ts';
import { originsBeyondActiveTab } from './urls.ts';

/**
 * Call synchronously from contextMenus.onClicked (a user gesture is needed, and it ends at the first
 * await). Resolves to whether the origins may be used (at once, with no prompt, when they were granted
 * before), or is null when activeTab covers everything.
 */
export function requestHostAccessIfNeeded(srcUrl: string, pageUrl: string | undefined, frameUrl?: string): Promise<boolean> | null {
  const origins = originsBeyondActiveTab(srcUrl, pageUrl, frameUrl);
  if (origins.length === 0) return null;
  return browser.permissions.request({ origins }).catch(() => false);
}
