// Chrome's home for the model: the offscreen document (a service worker has no DOM and is stopped after
// ~30 s idle, so the model cannot live in it). Firefox has no offscreen API; its build replaces this file
// with model-document-host.firefox.ts (rollup.config.mjs swaps every `*.firefox.ts` sibling in).
// offscreen-document.ts adds the creation lock and the retries on top of these three calls.
import { browser } from '../shared/browser.ts';
import { MODEL_DOCUMENT_PATH, type ModelDocumentHost } from './model-document.ts';

export const modelDocumentHost: ModelDocumentHost = {
  async exists() {
    // chrome.* because runtime.getContexts is not in webextension-polyfill (and only finds offscreen documents, a Chrome API).
    const contexts = await chrome.runtime.getContexts({
      contextTypes: [chrome.runtime.ContextType.OFFSCREEN_DOCUMENT],
      documentUrls: [browser.runtime.getURL(MODEL_DOCUMENT_PATH)],
    });
    return contexts.length > 0;
  },
  create() {
    // chrome.* because offscreen is a Chrome-only API that webextension-polyfill does not wrap.
    return chrome.offscreen.createDocument({
      url: MODEL_DOCUMENT_PATH,
      reasons: [chrome.offscreen.Reason.BLOBS],
      justification: 'Decodes the image the user chose and runs the on-device skin-lesion model on it.',
    });
  },
  async close() {
    // chrome.* because offscreen is a Chrome-only API that webextension-polyfill does not wrap.
    await chrome.offscreen.closeDocument();
  },
};
