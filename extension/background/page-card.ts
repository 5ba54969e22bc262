// The service worker's side of the card on the page: injects the content script (content/overlay.js)
// once per document (the first card update finds an existing one), sends it card updates, and asks it
// for images only the page may read. chrome.scripting needs host access to the frame: activeTab (from
// the context-menu click) gives it.
import { browser } from '../shared/browser.ts';
import type { CardState, ContentRequest, ImageBytes, Reply } from '../shared/messages.ts';
import { unwrap, withTimeout } from '../shared/requests.ts';

const CONTENT_SCRIPT_FILE = 'content/overlay.js';

function sendToFrame<T>(tabId: number, frameId: number, message: ContentRequest): Promise<T> {
  return browser.tabs.sendMessage(tabId, message, { frameId }) as Promise<T>;
}

/** Sends a new state for the card of request `requestId` to the frame's content script. */
export function updatePageCard(tabId: number, frameId: number, requestId: string, srcUrl: string, state: CardState): Promise<void> {
  return sendToFrame<void>(tabId, frameId, { target: 'content', type: 'card', requestId, srcUrl, state });
}

/**
 * Shows the first state of a card, injecting the content script first if the frame does not have it yet
 * (the update itself is the probe, so a warm click costs one round trip). Throws if the frame is not
 * accessible.
 */
export async function openPageCard(tabId: number, frameId: number, requestId: string, srcUrl: string, state: CardState): Promise<void> {
  try {
    await withTimeout(updatePageCard(tabId, frameId, requestId, srcUrl, state), 2000, 'The page did not answer.');
    return;
  } catch {
    /* not injected yet (or a stale copy from before an extension update): inject */
  }
  // chrome.* because webextension-polyfill does not wrap scripting (Firefox has it as browser.scripting).
  await chrome.scripting.executeScript({ target: { tabId, frameIds: [frameId] }, files: [CONTENT_SCRIPT_FILE] });
  await updatePageCard(tabId, frameId, requestId, srcUrl, state);
}

/** Reads an image from inside the page: blob: URLs (page-scoped) and same-origin or CORS-enabled images. */
export async function readImageInPage(tabId: number, frameId: number, url: string): Promise<ImageBytes> {
  return unwrap(
    await withTimeout(
      sendToFrame<Reply<ImageBytes>>(tabId, frameId, { target: 'content', type: 'read-image', url }),
      15_000,
      'The page did not hand over the image within 15 s.',
    ),
  );
}
