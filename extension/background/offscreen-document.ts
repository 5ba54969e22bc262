// The offscreen document that hosts the model: created on first need and then kept (re-creating it
// would reload the model), with an in-flight lock because createDocument throws if one already exists.
import { browser } from '../shared/browser.ts';
import type { OffscreenRequest, Reply } from '../shared/messages.ts';
import { requestWithRetry, TimeoutError } from '../shared/requests.ts';

const OFFSCREEN_PATH = 'offscreen.html';
/** Covers a cold start: document creation, wasm compile, model load and warm-up. */
const OFFSCREEN_TIMEOUT_MS = 15_000;

let creating: Promise<void> | null = null;
/** Set once this worker has seen the document exist; a request that fails re-checks (see askOffscreen). */
let knownAlive = false;

async function hasOffscreenDocument(): Promise<boolean> {
  // chrome.* because runtime.getContexts is not in webextension-polyfill (and only finds offscreen documents, a Chrome API).
  const contexts = await chrome.runtime.getContexts({
    contextTypes: [chrome.runtime.ContextType.OFFSCREEN_DOCUMENT],
    documentUrls: [browser.runtime.getURL(OFFSCREEN_PATH)],
  });
  return contexts.length > 0;
}

export async function ensureOffscreen(): Promise<void> {
  if (creating) return creating;
  if (await hasOffscreenDocument()) {
    knownAlive = true;
    return;
  }
  // chrome.* because offscreen is a Chrome-only API that webextension-polyfill does not wrap.
  creating ??= chrome.offscreen
    .createDocument({
      url: OFFSCREEN_PATH,
      reasons: [chrome.offscreen.Reason.BLOBS],
      justification: 'Decodes the image the user chose and runs the on-device skin-lesion model on it.',
    })
    .catch((error: unknown) => {
      // Another caller won the race (e.g. after a service-worker restart): the document exists, fine.
      if (!/single offscreen document|already exists/i.test(String((error as Error)?.message ?? error))) throw error;
    })
    .then(() => {
      knownAlive = true;
    })
    .finally(() => {
      creating = null;
    });
  return creating;
}

async function closeOffscreen(): Promise<void> {
  knownAlive = false;
  try {
    // chrome.* because offscreen is a Chrome-only API that webextension-polyfill does not wrap.
    if (await hasOffscreenDocument()) await chrome.offscreen.closeDocument();
  } catch {
    /* already gone */
  }
}

/**
 * Sends a request to the offscreen document, creating it if needed. One retry: if the document had died
 * (crash, or closed by Chrome) it is re-created; if it did not answer in time it is replaced.
 */
export async function askOffscreen<T>(request: OffscreenRequest): Promise<T> {
  // Known to exist: skip the check (one IPC round trip); if it died since, the retry below re-creates it.
  if (!knownAlive) await ensureOffscreen();
  return requestWithRetry<T>(() => browser.runtime.sendMessage(request) as Promise<Reply<T>>, {
    timeoutMs: OFFSCREEN_TIMEOUT_MS,
    timeoutMessage: `The DermLens model did not answer within ${OFFSCREEN_TIMEOUT_MS / 1000} s.`,
    beforeRetry: async (error) => {
      knownAlive = false;
      if (error instanceof TimeoutError) await closeOffscreen();
      await ensureOffscreen();
    },
  });
}
