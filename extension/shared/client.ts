// What extension pages (the popup) ask the service worker for.
import { browser } from './browser.ts';
import { newRequestId, type BackgroundRequest, type ClassificationResult, type ImageBytes, type Reply } from './messages.ts';
import { parseModelCard, type ModelCard } from './model-card.ts';
import { requestWithRetry } from './requests.ts';

/** A first request may wait for the model to load (cold start); later ones take milliseconds. */
const CLASSIFY_TIMEOUT_MS = 20_000;

export function classifyImage(image: ImageBytes): Promise<ClassificationResult> {
  const message: BackgroundRequest = { target: 'background', type: 'classify-image', requestId: newRequestId(), image };
  return requestWithRetry<ClassificationResult>(
    () => browser.runtime.sendMessage(message) as Promise<Reply<ClassificationResult>>,
    { timeoutMs: CLASSIFY_TIMEOUT_MS, timeoutMessage: 'DermLens did not answer within 20 s. Close the popup and try again.' },
  );
}

/** Asks the service worker to start the model now, so it is warm by the time the user picks a photo. */
export function warmUpModel(): void {
  const message: BackgroundRequest = { target: 'background', type: 'warm-up', requestId: newRequestId() };
  (browser.runtime.sendMessage(message) as Promise<unknown>).catch(() => { /* only a head start; classify reports errors */ });
}

export async function loadModelCard(): Promise<ModelCard> {
  const response = await fetch(chrome.runtime.getURL('model/model-card.json'));
  if (!response.ok) throw new Error(`model/model-card.json: HTTP ${response.status}`);
  return parseModelCard(await response.json());
}
