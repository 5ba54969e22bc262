// The one warm model of the extension host: tfjs on the WebAssembly backend (SIMD, one thread; the
// .wasm files ship in the .vsix), loaded on first use and kept until the model setting changes. No
// native build and nothing fetched: the model and the wasm binaries are read from disk.
import { readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { tf } from '../../../core/tf.ts';
import { load, type Classifier } from '../../../core/classifier.ts';
import { modelVersionLabel, parseModelCard } from '../../../core/model-card.ts';
import { fileLoadHandler, MODEL_JSON } from '../../../trainer/run/model-files.ts';
import { warmUp } from '../../../extension/shared/infer-with-heatmap.ts';

export interface LoadedModel {
  classifier: Classifier;
  /** Shown on the card: the model card's version, or the folder of a model that has no card. */
  versionLabel: string;
  untrained: boolean;
  modelJson: string;
  /** ms: wasm backend started, model read and prepared, first (warm-up) pass. */
  timings: { backendMs: number; loadMs: number; warmUpMs: number };
}

/** A model setting that does not point at a model: the message names the path and the fix. */
export class ModelPathError extends Error {
  override name = 'ModelPathError';
}

/** A model folder or its model.json -> the model.json path; ModelPathError naming `path` otherwise. */
export async function resolveModelJson(path: string, settingName: string): Promise<string> {
  const info = await stat(path).catch(() => null);
  const fix = `Set ${settingName} to a model folder (holding ${MODEL_JSON}) or a ${MODEL_JSON} file, or clear it to use the shipped model.`;
  if (!info) throw new ModelPathError(`The model ${path} does not exist. ${fix}`);
  const file = info.isDirectory() ? join(path, MODEL_JSON) : path;
  if (!(await stat(file).catch(() => null))?.isFile()) throw new ModelPathError(`There is no ${MODEL_JSON} in ${path}. ${fix}`);
  return file;
}

let backend: Promise<number> | null = null;

/** Starts the wasm backend once; resolves to the ms it took. */
function startBackend(wasmDir: string): Promise<number> {
  backend ??= (async () => {
    const started = performance.now();
    // The threaded build would start its workers from a blob: URL, which Node rejects (then hangs).
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    setWasmPaths(wasmDir.endsWith('/') ? wasmDir : `${wasmDir}/`);
    if (!(await tf.setBackend('wasm'))) throw new Error('The WebAssembly backend of TensorFlow.js could not start.');
    await tf.ready();
    return performance.now() - started;
  })();
  return backend;
}

/** Loads, prepares and warms the model in `modelJson`, on the wasm binaries in `wasmDir`. */
export async function loadModel(modelJson: string, wasmDir: string): Promise<LoadedModel> {
  const backendMs = await startBackend(wasmDir);
  const loadStarted = performance.now();
  let classifier: Classifier;
  try {
    classifier = await load(fileLoadHandler(modelJson), { warmUp: false });
  } catch (error) {
    throw new ModelPathError(`The model ${modelJson} could not be loaded: ${(error as Error).message}`);
  }
  const card = await readFile(join(dirname(modelJson), 'model-card.json'), 'utf8').then(
    (text) => parseModelCard(JSON.parse(text)),
    () => null,
  );
  const loaded = performance.now();
  await warmUp(classifier);
  return {
    classifier,
    versionLabel: card ? modelVersionLabel(card) : dirname(modelJson),
    untrained: card?.untrained ?? false,
    modelJson,
    timings: { backendMs, loadMs: loaded - loadStarted, warmUpMs: performance.now() - loaded },
  };
}

/** Keeps one model warm: the same model.json gets the same promise; another replaces (and frees) it. */
export class ModelCache {
  private current: { modelJson: string; model: Promise<LoadedModel> } | null = null;

  constructor(private readonly wasmDir: string) {}

  get(modelJson: string): Promise<LoadedModel> {
    if (this.current?.modelJson !== modelJson) {
      this.dispose();
      const model = loadModel(modelJson, this.wasmDir);
      // A failed load is not kept: the next request (after the setting is fixed) tries again.
      model.catch(() => {
        if (this.current?.model === model) this.current = null;
      });
      this.current = { modelJson, model };
    }
    return this.current!.model;
  }

  dispose(): void {
    const old = this.current;
    this.current = null;
    old?.model.then(
      (m) => m.classifier.dispose(),
      () => undefined,
    );
  }
}
