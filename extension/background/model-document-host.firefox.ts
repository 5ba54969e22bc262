// Firefox's home for the model. Firefox has no offscreen API, but its MV3 background is an event page
// with a DOM, so the same offscreen.html (and offscreen.js, unchanged) runs in an iframe inside it. The
// frame is a separate extension context: it receives the background's runtime.sendMessage (a page
// never receives its own messages) and the popup's, exactly as Chrome's offscreen document does.
// The frame lives as long as the event page: when Firefox suspends an idle event page (30 s), the model
// goes with it and the next request loads it again (`npm run bench:extension -- --browser firefox`
// measures that cold start).
import { browser } from '../shared/browser.ts';
import { MODEL_DOCUMENT_PATH, type ModelDocumentHost } from './model-document.ts';

const FRAME_ID = 'dermlens-model';

const frame = () => document.getElementById(FRAME_ID);

export const modelDocumentHost: ModelDocumentHost = {
  async exists() {
    return frame() !== null;
  },
  create() {
    if (frame()) return Promise.reject(new Error('The model frame already exists.'));
    const iframe = document.createElement('iframe');
    iframe.id = FRAME_ID;
    iframe.src = browser.runtime.getURL(MODEL_DOCUMENT_PATH);
    return new Promise<void>((resolve, reject) => {
      // offscreen.js is a module script: it has run, and registered its message listener, before `load`.
      iframe.addEventListener('load', () => resolve(), { once: true });
      iframe.addEventListener('error', () => reject(new Error(`${MODEL_DOCUMENT_PATH} could not be loaded in the event page.`)), {
        once: true,
      });
      (document.body ?? document.documentElement).append(iframe);
    });
  },
  async close() {
    frame()?.remove();
  },
};
