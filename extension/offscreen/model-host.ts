// The one long-lived model: tfjs on the WebAssembly backend (SIMD, single thread, .wasm files from the
// package), loaded once when the offscreen document opens, so a right-click only pays decode +
// preprocess + inference.
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { tf } from '../../core/tf.ts';
import { load, type Classifier } from '../../core/classifier.ts';
import { browser } from '../shared/browser.ts';
import { parseModelCard, type ModelCard } from '../../core/model-card.ts';

export interface LoadedModel {
  classifier: Classifier;
  card: ModelCard;
  /** Milliseconds since the document started: wasm backend ready, model loaded (diagnostics). */
  timings: { backendMs: number; loadedMs: number };
}

/**
 * Threads would need SharedArrayBuffer (cross-origin isolation) and a Worker from a blob: URL, which the
 * extension CSP forbids; one SIMD thread it is (`npm run bench:extension` measures what that gives).
 */
export async function loadModel(): Promise<LoadedModel> {
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  setWasmPaths(browser.runtime.getURL('wasm/'));
  // The model files download while the wasm binary compiles.
  const artifacts = fetchModelArtifacts();
  const card = fetch(browser.runtime.getURL('model/model-card.json'))
    .then((r) => r.json())
    .then(parseModelCard);
  if (!(await tf.setBackend('wasm'))) throw new Error('The WebAssembly backend could not start.');
  await tf.ready();
  const backendMs = performance.now();
  // No warm-up here: the caller warms up only if no request is already waiting (see offscreen.ts).
  const classifier = await load(tf.io.fromMemory(await artifacts), { warmUp: false });
  return { classifier, card: await card, timings: { backendMs, loadedMs: performance.now() } };
}

/** model.json and its weight shards, fetched from the package. */
async function fetchModelArtifacts(): Promise<tf.io.ModelArtifacts> {
  const handler = tf.io.http(browser.runtime.getURL('model/model.json'));
  return handler.load!();
}
