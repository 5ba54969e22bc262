// What extension pages (the popup) ask the service worker for.
import { browser } from './browser.ts';
import {
  newRequestId,
  type BackgroundRequest,
  type ClassificationResult,
  type ImageBytes,
  type OffscreenRequest,
  type Reply,
} from './messages.ts';
import { parseModelCard, type ModelCard } from '../../core/model-card.ts';
import { isRetryable, requestWithRetry, unwrap, withTimeout } from './requests.ts';

/** A first request may wait for the model to load (cold start); later ones are fast (`npm run bench:extension` measures both). */
const CLASSIFY_TIMEOUT_MS = 20_000;

/**
 * Classifies an uploaded or captured image. Sent straight to the offscreen document when it is running
 * (the popup starts it on open), which saves two message hops; through the service worker otherwise,
 * which creates the document first. Same requestId on both routes, so nothing runs twice.
 */
export async function classifyImage(image: ImageBytes): Promise<ClassificationResult> {
  const requestId = newRequestId();
  const direct: OffscreenRequest = { target: 'offscreen', type: 'classify-bytes', requestId, image };
  try {
    const reply = await withTimeout(
      browser.runtime.sendMessage(direct) as Promise<Reply<ClassificationResult> | undefined>,
      CLASSIFY_TIMEOUT_MS,
      'DermLens did not answer within 20 s.',
    );
    if (reply) return unwrap(reply);
  } catch (error) {
    if (!isRetryable(error)) throw error;
  }
  const viaWorker: BackgroundRequest = { target: 'background', type: 'classify-image', requestId, image };
  return requestWithRetry<ClassificationResult>(() => browser.runtime.sendMessage(viaWorker) as Promise<Reply<ClassificationResult>>, {
    timeoutMs: CLASSIFY_TIMEOUT_MS,
    timeoutMessage: 'DermLens did not answer within 20 s. Close the popup and try again.',
  });
}

/** Asks the service worker to start the model now, so it is warm by the time the user picks a photo. */
export function warmUpModel(): void {
  const message: BackgroundRequest = { target: 'background', type: 'warm-up', requestId: newRequestId() };
  (browser.runtime.sendMessage(message) as Promise<unknown>).catch(() => {
    /* only a head start; classify reports errors */
  });
}

export async function loadModelCard(): Promise<ModelCard> {
  const response = await fetch(browser.runtime.getURL('model/model-card.json'));
  if (!response.ok) throw new Error(`model/model-card.json: HTTP ${response.status}`);
  return parseModelCard(await response.json());
}
