// Chooses the TensorFlow.js backend the trainer runs on, and says which one it got.
//
// Order for 'auto': tfjs-node ('tensorflow': native TF, both cores, ~10x faster than wasm here) when
// its addon loads, else tfjs-backend-wasm (SIMD, one thread, plus our training kernels). The pure-JS
// 'cpu' backend is never picked for training unless the caller allows it: a batch of 32 of the seed
// model takes minutes there (see /work/shared/notes/tfjs-backends.md), so silently falling back to it
// would look like a hang. Tests that train tiny models may allow it.
import { tf } from '../../core/tf.ts';

export type BackendPreference = 'auto' | 'tensorflow' | 'wasm' | 'cpu';
export const BACKEND_PREFERENCES: readonly BackendPreference[] = ['auto', 'tensorflow', 'wasm', 'cpu'];
export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

export interface BackendOptions {
  /** Allow the pure-JS cpu backend (explicitly, or as the last fallback of 'auto'). Default false. */
  allowCpuForTraining?: boolean;
  /** On 'tensorflow', route batch norm and the ReLU gradient to native TF ops. Default true. */
  nativeFastPaths?: boolean;
  /** Where the one-line "backend: ..." message goes; null for silence. Default: stderr. */
  log?: ((line: string) => void) | null;
}

export interface BackendInfo {
  name: BackendName;
  /** One line for logs and the model card, e.g. "tensorflow (tfjs-node 4.22.0, TensorFlow 2.21.0, native fast paths on)". */
  description: string;
  /** Why tfjs-node was not used, when 'auto' fell back to another backend. */
  fallbackReason?: string;
}

export function isBackendPreference(value: string): value is BackendPreference {
  return (BACKEND_PREFERENCES as readonly string[]).includes(value);
}

const SETUP_HINT = 'run `npm run setup:tfjs-node` to build it';

/** The tfjs-node module, typed only as far as we use it (it is optional, so its types may be absent). */
interface TfjsNodeModule {
  Tensor: unknown;
  version: Record<string, string>;
}

let tfjsNodeLoad: Promise<{ module: TfjsNodeModule } | { error: string }> | null = null;

/**
 * TensorFlow's pooling CPU allocator (BFC). By default TF hands every tensor back to malloc, and glibc returns
 * the large ones (a MobileNetV2 activation at batch 32 is tens of MB) to the kernel, so each step pays for fresh,
 * zeroed pages again; the pool keeps them. TF reads the variable once, when tfjs-node creates its CPU device on
 * import, so it is set just before that, in this process only (no re-launch, so --resume's crash safety is
 * untouched); a value the user set wins. Measured on the trainer's MobileNetV2 step at 128 px, fresh processes
 * alternating (research/speed/allocator-ab.sh): median 1.06x over 7 pairs (0.97x-1.12x), same losses. Numerics are unchanged:
 * only where tensors live changes.
 */
export const POOLED_CPU_ALLOCATOR = 'TF_CPU_ALLOCATOR_USE_BFC';
/** Whether loadTfjsNode set POOLED_CPU_ALLOCATOR (rather than finding it set): a Keras peer then runs with TF's default. */
let allocatorSetHere = false;
export const pooledAllocatorSetHere = (): boolean => allocatorSetHere;
const pooledAllocatorOn = (): boolean => ['1', 'true'].includes((process.env[POOLED_CPU_ALLOCATOR] ?? '').toLowerCase());

/**
 * Imports @tensorflow/tfjs-node once. On success it has registered the 'tensorflow' backend on the
 * engine core/ uses (checked: a second copy of tfjs-core would give tensors the model code does not
 * recognise). On failure, returns a one-line reason with the fix.
 */
export function loadTfjsNode(): Promise<{ module: TfjsNodeModule } | { error: string }> {
  tfjsNodeLoad ??= (async () => {
    // TF 2.21 prints a two-line absl/oneDNN notice on stderr when it loads; TF_CPP_MIN_LOG_LEVEL does
    // not silence it (it is logged before absl::InitializeLog), so we leave the environment alone.
    if (process.env[POOLED_CPU_ALLOCATOR] === undefined) {
      process.env[POOLED_CPU_ALLOCATOR] = 'true';
      allocatorSetHere = true;
    }
    const specifier = '@tensorflow/tfjs-node'; // not a literal: its types may not be installed (CI)
    let module: TfjsNodeModule;
    try {
      module = (await import(specifier)) as TfjsNodeModule;
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'ERR_MODULE_NOT_FOUND' && String(e.message).includes(specifier)) {
        return { error: `@tensorflow/tfjs-node is not installed (${SETUP_HINT})` };
      }
      const firstLine = String(e.message ?? err).split('\n')[0];
      return { error: `@tensorflow/tfjs-node failed to load: ${firstLine} (${SETUP_HINT})` };
    }
    if (module.Tensor !== tf.Tensor) {
      return {
        error:
          '@tensorflow/tfjs-node loaded a different copy of @tensorflow/tfjs-core than core/ uses; ' +
          'check `npm ls @tensorflow/tfjs-core` shows a single 4.22.0',
      };
    }
    return { module };
  })();
  return tfjsNodeLoad;
}

async function useTensorflow(nativeFastPaths: boolean): Promise<BackendInfo> {
  const loaded = await loadTfjsNode();
  if ('error' in loaded) throw new Error(`Backend 'tensorflow' unavailable: ${loaded.error}.`);
  if (!(await tf.setBackend('tensorflow'))) throw new Error("tf.setBackend('tensorflow') failed.");
  await tf.ready();
  const fastPaths = await import('./native/fast-kernels.ts');
  if (nativeFastPaths) fastPaths.installNativeFastPaths();
  else fastPaths.removeNativeFastPaths();
  const tfVersion = (tf.backend() as unknown as { binding?: { TF_Version?: string } }).binding?.TF_Version ?? 'unknown';
  return {
    name: 'tensorflow',
    description:
      `tensorflow (tfjs-node ${loaded.module.version['tfjs-node']}, TensorFlow ${tfVersion}, ` +
      `native fast paths ${nativeFastPaths ? 'on' : 'off'}${pooledAllocatorOn() ? ', pooled CPU allocator' : ''})`,
  };
}

async function useWasm(): Promise<BackendInfo> {
  // Sets the .wasm path to node_modules/@tensorflow/tfjs-backend-wasm/dist/, turns multithreading off
  // (its worker starts from a blob: URL, which Node rejects and then hangs) and registers the
  // training kernels wasm lacks (Conv2DBackpropFilter) or has slow versions of.
  const { useWasmBackendInNode } = await import('./wasm/node-setup.ts');
  await useWasmBackendInNode();
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  return { name: 'wasm', description: `wasm (${simd ? 'SIMD' : 'no SIMD'}, 1 thread, with training kernels)` };
}

async function useCpu(): Promise<BackendInfo> {
  await import('@tensorflow/tfjs-backend-cpu');
  if (!(await tf.setBackend('cpu'))) throw new Error("tf.setBackend('cpu') failed.");
  await tf.ready();
  return { name: 'cpu', description: 'cpu (pure JavaScript; far too slow to train real models)' };
}

/**
 * Makes the preferred backend active and returns (and logs) which one is in use. Throws with the
 * reason and the fix when an explicitly requested backend cannot start.
 */
export async function initBackend(
  preference: BackendPreference = 'auto',
  { allowCpuForTraining = false, nativeFastPaths = true, log = (line) => console.error(line) }: BackendOptions = {},
): Promise<BackendInfo> {
  if (!isBackendPreference(preference)) {
    throw new Error(`Unknown backend "${String(preference)}". Choose one of: ${BACKEND_PREFERENCES.join(', ')}.`);
  }
  let info: BackendInfo;
  if (preference === 'tensorflow') {
    info = await useTensorflow(nativeFastPaths);
  } else if (preference === 'wasm') {
    info = await useWasm();
  } else if (preference === 'cpu') {
    if (!allowCpuForTraining) {
      throw new Error(
        "Backend 'cpu' (pure JavaScript) takes minutes per training batch; use 'tensorflow' or 'wasm' " +
          '(or pass allowCpuForTraining for tiny test models).',
      );
    }
    info = await useCpu();
  } else {
    const loaded = await loadTfjsNode();
    if (!('error' in loaded)) {
      info = await useTensorflow(nativeFastPaths);
    } else {
      try {
        info = { ...(await useWasm()), fallbackReason: loaded.error };
      } catch (wasmError) {
        if (!allowCpuForTraining) {
          throw new Error(`No training backend: ${loaded.error}; wasm failed: ${(wasmError as Error).message}`);
        }
        info = { ...(await useCpu()), fallbackReason: `${loaded.error}; wasm failed: ${(wasmError as Error).message}` };
      }
    }
  }
  log?.(`backend: ${info.description}${info.fallbackReason ? ` [not tensorflow: ${info.fallbackReason}]` : ''}`);
  return info;
}
