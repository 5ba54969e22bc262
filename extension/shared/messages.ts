// Every message between the extension's contexts, in Chrome samples' `{target, type}` shape. The service
// worker and the offscreen document both listen on runtime.onMessage (and both get what the popup sends),
// so each message names its `target` and a listener ignores messages meant for someone else; the content
// script gets its own through tabs.sendMessage. Messages are JSON-serialised by Chrome, so they
// carry strings and plain numbers only (image bytes travel as base64), never typed arrays or ImageData.
import type { ActivationMap } from '../../core/class-activation-map.ts';
import type { ClassCode } from '../../core/labels.ts';
import type { Prediction } from '../../core/lesion-result.ts';
import type { DermoscopyVerdict } from '../../core/dermoscopy-gate.ts';
import type { ClinicalPhotoFigures } from '../../core/model-card.ts';

/** Who a message is for: the popup sends but receives no messages, so it is no target. */
export type Target = 'background' | 'offscreen' | 'content';

/** One class of a result (core/lesion-result.ts). */
export type ClassPrediction = Prediction;

/** What a classification returns, to the card and to tests. */
export interface ClassificationResult {
  /** All seven classes, most likely first; probabilities sum to 1. */
  predictions: ClassPrediction[];
  top: ClassCode;
  /** Sum of the probabilities of the types that need a doctor: cancer and pre-cancer (akiec, bcc, mel). */
  concerningProbability: number;
  /**
   * True when P(mel) reaches the model's melanoma operating point (model.json metadata), even if another
   * class is more likely: the card then shows a melanoma alert.
   */
  melanomaAlert: boolean;
  /** That threshold, or null when the model has none. */
  melanomaThreshold: number | null;
  /** Time in the offscreen document: download (if any) + decode + preprocess + inference. */
  ms: number;
  /** Where `ms` went, for benchmarks. */
  timings: { fetchMs: number; decodeMs: number; preprocessMs: number; inferenceMs: number };
  /** From model-card.json: which model produced this (e.g. "compact-96 2026-11-26", or "untrained dev model"). */
  modelVersion: string;
  /** True when the shipped model is the untrained development model: the UI then warns that the output means nothing. */
  untrained: boolean;
  /** Pixel size of the decoded image. */
  width: number;
  height: number;
  /**
   * "Where it looked": the top class's activation map from the same pass (core/class-activation-map.ts),
   * and the part of the image it covers. Absent for a model without a global-average-pooling head.
   */
  heatmap?: Heatmap;
  /**
   * "What kind of image is this?" (core/dermoscopy-gate.ts): dermoscopic, clinical (an ordinary photo of
   * skin) or other (not skin), from the same pass; null for a model without the gate. When `dermoscopic`
   * is false, the views lead with that and keep the class bars folded away.
   */
  dermoscopy: DermoscopyVerdict | null;
  /** From model-card.json: what DermLens measured on ordinary photos of skin (quoted for a "clinical" image); absent for older models. */
  clinicalPhotos?: ClinicalPhotoFigures | null;
}

export interface Heatmap {
  map: ActivationMap;
  /** In image pixels: the centre crop the model saw, which the map's grid is stretched over. */
  crop: { x: number; y: number; width: number; height: number };
}

/**
 * Every reply. `code` tells the service worker which failures another route might fix:
 * 'fetch-blocked' (network error or no access from the extension's origin) and 'http-auth' (401/403,
 * which the page's own cookies may pass) are retried from inside the page.
 */
export type Reply<T> = { ok: true; result: T } | { ok: false; error: string; code?: ErrorCode };
export type ErrorCode = 'fetch-blocked' | 'http-auth';

/** Bytes of an image file, base64-encoded because runtime messages are JSON. */
export interface ImageBytes {
  base64: string;
  /** MIME type the bytes were served or picked with ('' when unknown). */
  mime: string;
}

// ---- to the offscreen document -------------------------------------------------------------------

export interface ClassifyUrlRequest {
  target: 'offscreen';
  type: 'classify-url';
  requestId: string;
  url: string;
}

export interface ClassifyBytesRequest {
  target: 'offscreen';
  type: 'classify-bytes';
  requestId: string;
  image: ImageBytes;
}

export type OffscreenRequest = ClassifyUrlRequest | ClassifyBytesRequest;

// ---- to the service worker -----------------------------------------------------------------------

/** From the popup: classify an uploaded file or a camera capture. */
export interface ClassifyImageRequest {
  target: 'background';
  type: 'classify-image';
  requestId: string;
  image: ImageBytes;
}

/**
 * From the overlay, when a card has waited too long (the service worker may have been stopped mid-request):
 * run the same request again. Idempotent: the request id is kept, so a late first answer and the retry's
 * answer are the same card update.
 */
export interface RetryRequest {
  target: 'background';
  type: 'retry-classify-url';
  requestId: string;
  srcUrl: string;
}

/** From the popup when it opens: start the offscreen document (model load) while the user picks an image. */
export interface WarmUpRequest {
  target: 'background';
  type: 'warm-up';
  requestId: string;
}

export type BackgroundRequest = ClassifyImageRequest | RetryRequest | WarmUpRequest;

/**
 * Name of the runtime.connect() port an overlay holds to the service worker while its card is loading.
 * The page learns at once (onDisconnect) that the worker was stopped, and connects again; each connection
 * names the card's request (CardWatch), so whichever worker accepts the port, a new one included, runs the
 * request (idempotent by requestId) instead of the card waiting for a timeout.
 */
export const CARD_PORT_NAME = 'dermlens-card-watch';

/** The one message on a CARD_PORT_NAME port, from the overlay: the request the card waits for. */
export interface CardWatch {
  type: 'watch';
  requestId: string;
  srcUrl: string;
}

export function isCardWatch(message: unknown): message is CardWatch {
  const m = message as Partial<CardWatch> | null;
  return typeof m === 'object' && m !== null && m.type === 'watch' && typeof m.requestId === 'string' && typeof m.srcUrl === 'string';
}

// ---- to the overlay content script ---------------------------------------------------------------

/** Show (or update) the card next to the image whose URL is srcUrl. */
export interface CardUpdate {
  target: 'content';
  type: 'card';
  requestId: string;
  srcUrl: string;
  state: CardState;
}

export type CardState =
  | { kind: 'loading'; message?: string }
  | { kind: 'result'; result: ClassificationResult }
  | {
      kind: 'error';
      error: string;
      /**
       * The worker lost its connection to the rest of the extension (most often: it is being stopped), so
       * the error says nothing about the image. The overlay re-sends the request (a new worker picks it up)
       * while its re-send budget lasts, and shows the error only after that.
       */
      retryable?: boolean;
    };

/** Read a page-scoped URL (blob:, or an image only the page's origin may read) from inside the page. */
export interface ReadImageRequest {
  target: 'content';
  type: 'read-image';
  url: string;
}

export type ContentRequest = CardUpdate | ReadImageRequest;

export type AnyRequest = OffscreenRequest | BackgroundRequest | ContentRequest;

export function isRequestFor<T extends Target>(message: unknown, target: T): message is Extract<AnyRequest, { target: T }> {
  return (
    typeof message === 'object' &&
    message !== null &&
    (message as { target?: unknown }).target === target &&
    typeof (message as { type?: unknown }).type === 'string'
  );
}

/** A short unique id; requests are idempotent by it. */
export function newRequestId(): string {
  return crypto.randomUUID();
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return typeof error === 'string' ? error : 'Unknown error.';
}
