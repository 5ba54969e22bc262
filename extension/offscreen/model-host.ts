// The one long-lived model: tfjs on the WebAssembly backend (SIMD, single thread, .wasm files from the
// package), loaded once when the offscreen document opens and warmed up with one prediction, so a
// right-click only pays decode + preprocess + inference.
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { tf } from '../../core/tf.ts';
import { load, type Classifier } from '../../core/classifier.ts';
import { parseModelCard, type ModelCard } from '../shared/model-card.ts';

export interface LoadedModel {
  classifier: Classifier;
  card: ModelCard;
  /** Milliseconds from start to warmed-up model, for diagnostics. */
  loadMs: number;
}

/**
 * Threads would need SharedArrayBuffer (cross-origin isolation) and a Worker from a blob: URL, which the
 * extension CSP forbids; one SIMD thread is plenty for a ~0.2 M parameter CNN.
 */
export async function loadModel(): Promise<LoadedModel> {
  const started = performance.now();
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  setWasmPaths(chrome.runtime.getURL('wasm/'));
  if (!(await tf.setBackend('wasm'))) throw new Error('The WebAssembly backend could not start.');
  await tf.ready();
  const [classifier, card] = await Promise.all([
    load(chrome.runtime.getURL('model/model.json'), { warmUp: true }),
    fetch(chrome.runtime.getURL('model/model-card.json')).then((r) => r.json()).then(parseModelCard),
  ]);
  return { classifier, card, loadMs: performance.now() - started };
}
