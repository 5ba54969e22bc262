// The offscreen document: hosts the model and does all image work (the service worker has no DOM and
// cannot run wasm in a worker-friendly way). Fetches or receives image bytes, decodes them, classifies.
// Requests are idempotent by requestId: a retried request joins or reuses the first one's answer.
import { canExplain, explainInput } from '../core/class-activation-map.ts';
import { decodeImageBytes } from './shared/decode.ts';
import { classifyPixels, warmUp } from './shared/infer-with-heatmap.ts';
import { base64ToBytes } from './shared/image-bytes.ts';
import { addMessageListener } from './shared/browser.ts';
import { errorMessage, isRequestFor, type ClassificationResult, type OffscreenRequest, type Reply } from './shared/messages.ts';
import { modelVersionLabel } from '../core/model-card.ts';
import { ReplyError } from './shared/requests.ts';
import { fetchImage } from './offscreen/fetch-image.ts';
import { loadModel, type LoadedModel } from './offscreen/model-host.ts';

/** Requests waiting for or using the model. */
let activeRequests = 0;

/**
 * The model, loaded when the document opens, then warmed up with one prediction (the first inference
 * sets up the wasm kernels and is slower than later ones) unless a request is already waiting: that
 * request's own inference then does the warming instead of queueing behind a dummy one.
 * `npm run bench:extension` measures the cold start; this document logs where it went.
 */
const model: Promise<LoadedModel> = loadModel().then(async (loaded) => {
  const warmed = activeRequests === 0;
  if (warmed) await warmUp(loaded.classifier);
  const timings = { ...loaded.timings, warmUpMs: warmed ? performance.now() : null };
  // For benchmarks (puppeteer can evaluate in the offscreen target): where the cold start goes.
  (globalThis as unknown as { dermlensModelTimings: unknown }).dermlensModelTimings = timings;
  console.info('DermLens model ready (ms since the document started):', JSON.stringify(timings));
  return loaded;
});
model.catch((error) => console.error('DermLens model failed to load', error));

/**
 * For npm run bench:extension (puppeteer evaluates in this document): warm wasm time of the pass that
 * gives probabilities and "where it looked", against classifying alone, on the same input, in ms.
 */
(globalThis as unknown as { dermlensInferenceBench: unknown }).dermlensInferenceBench = async (runs: number) => {
  const { classifier } = await model;
  const { width, height } = classifier.inputShape;
  const input = new Float32Array(height * width * 3).map((_, i) => (i % 97) / 97);
  const time = async (run: () => Promise<unknown>) => {
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const started = performance.now();
      await run();
      times.push(performance.now() - started);
    }
    return times;
  };
  const crop = { x: 0, y: 0, width, height };
  return {
    withHeatmap: canExplain(classifier) ? await time(() => explainInput(classifier, input, crop)) : null,
    classifyOnly: await time(() => classifier.classifyInputs([input])),
  };
};

async function classify(request: OffscreenRequest): Promise<ClassificationResult> {
  activeRequests++;
  try {
    return await classifyImage(request);
  } finally {
    activeRequests--;
  }
}

async function classifyImage(request: OffscreenRequest): Promise<ClassificationResult> {
  const started = performance.now();
  const { bytes, mime } =
    request.type === 'classify-url'
      ? await fetchImage(request.url)
      : { bytes: base64ToBytes(request.image.base64), mime: request.image.mime };
  const fetched = performance.now();
  const [{ image }, { classifier, card }] = await Promise.all([
    decodeImageBytes(bytes, mime),
    model.catch((error) => {
      throw new Error(`The model could not be loaded: ${errorMessage(error)}`);
    }),
  ]);
  const decoded = performance.now();
  return classifyPixels(classifier, image, {
    started,
    fetched,
    decoded,
    modelVersion: modelVersionLabel(card),
    untrained: card.untrained,
    clinicalPhotos: card.clinicalPhotos ?? null,
  });
}

/** Answers by requestId, kept for a minute so a retry after a lost reply gets the same answer. */
const answers = new Map<string, Promise<Reply<ClassificationResult>>>();
const ANSWER_TTL_MS = 60_000;

function answer(request: OffscreenRequest): Promise<Reply<ClassificationResult>> {
  let reply = answers.get(request.requestId);
  if (!reply) {
    reply = classify(request).then(
      (result): Reply<ClassificationResult> => ({ ok: true, result }),
      (error): Reply<ClassificationResult> => ({
        ok: false,
        error: errorMessage(error),
        code: error instanceof ReplyError ? error.code : undefined,
      }),
    );
    answers.set(request.requestId, reply);
    setTimeout(() => answers.delete(request.requestId), ANSWER_TTL_MS);
  }
  return reply;
}

addMessageListener((message, _sender, sendResponse) => {
  if (!isRequestFor(message, 'offscreen')) return false;
  if (message.type !== 'classify-url' && message.type !== 'classify-bytes') return false;
  void answer(message).then(sendResponse);
  return true; // reply asynchronously
});
