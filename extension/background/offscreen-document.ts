// The offscreen document that hosts the model: created on first need and then kept (re-creating it
// would reload the model), with an in-flight lock because createDocument throws if one already exists.
// Where the document lives is the browser's business (model-document-host.ts: Chrome's offscreen
// document; model-document-host.firefox.ts: a frame in Firefox's event page).
import { browser } from '../shared/browser.ts';
import type { OffscreenRequest, Reply } from '../shared/messages.ts';
import { requestWithRetry, TimeoutError } from '../shared/requests.ts';
import { modelDocumentHost } from './model-document-host.ts';

/** Covers a cold start: document creation, wasm compile, model load and warm-up. */
const OFFSCREEN_TIMEOUT_MS = 15_000;

let creating: Promise<void> | null = null;
/** Set once this worker has seen the document exist; a request that fails re-checks (see askOffscreen). */
let knownAlive = false;

export async function ensureOffscreen(): Promise<void> {
  if (creating) return creating;
  if (await modelDocumentHost.exists()) {
    knownAlive = true;
    return;
  }
  creating ??= modelDocumentHost
    .create()
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
    if (await modelDocumentHost.exists()) await modelDocumentHost.close();
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
