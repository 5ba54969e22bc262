// The page side: injects content/overlay.js once per document (the first card message finds an
// existing one) and talks to it. chrome.scripting needs host access to the frame: activeTab (from the context-menu click) gives it.
import { browser } from '../shared/browser.ts';
import type { CardState, ContentRequest, ImageBytes, Reply } from '../shared/messages.ts';
import { unwrap, withTimeout } from '../shared/requests.ts';

const OVERLAY_FILE = 'content/overlay.js';

function sendToFrame<T>(tabId: number, frameId: number, message: ContentRequest): Promise<T> {
  return browser.tabs.sendMessage(tabId, message, { frameId }) as Promise<T>;
}

export function showCard(tabId: number, frameId: number, requestId: string, srcUrl: string, state: CardState): Promise<void> {
  return sendToFrame<void>(tabId, frameId, { target: 'content', type: 'card', requestId, srcUrl, state });
}

/**
 * Shows the first state of a card, injecting the overlay first if the frame does not have it yet (the
 * message itself is the probe, so a warm click costs one round trip). Throws if the frame is not
 * accessible.
 */
export async function openCard(tabId: number, frameId: number, requestId: string, srcUrl: string, state: CardState): Promise<void> {
  try {
    await withTimeout(showCard(tabId, frameId, requestId, srcUrl, state), 2000, 'The page did not answer.');
    return;
  } catch { /* not injected yet (or a stale copy from before an extension update): inject */ }
  await chrome.scripting.executeScript({ target: { tabId, frameIds: [frameId] }, files: [OVERLAY_FILE] });
  await showCard(tabId, frameId, requestId, srcUrl, state);
}

/** Reads an image from inside the page: blob: URLs (page-scoped) and same-origin or CORS-enabled images. */
export async function readImageInPage(tabId: number, frameId: number, url: string): Promise<ImageBytes> {
  return unwrap(await withTimeout(
    sendToFrame<Reply<ImageBytes>>(tabId, frameId, { target: 'content', type: 'read-image', url }),
    15_000,
    'The page did not hand over the image within 15 s.',
  ));
}
