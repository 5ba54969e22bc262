// Starts the tfjs 'wasm' backend inside Node (SIMD, one thread) with the training kernels registered.
// Node-only (uses node:module); trainer/backends/select.ts owns backend choice for the CLI, this is the small
// self-contained setup that tests and the wasm benchmark use.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { tf } from '../../../core/tf.ts';
import { activeWasmTrainingKernels, registerWasmTrainingKernels } from './register.ts';

/**
 * Folder holding the tfjs-backend-wasm .wasm binaries, with the trailing slash setWasmPaths expects:
 * $TFJS_WASM_DIR if set (e.g. a bundled copy run without node_modules), else the installed package's dist/.
 */
export function wasmBinaryDir(): string {
  const override = process.env.TFJS_WASM_DIR;
  if (override) return override.endsWith('/') ? override : `${override}/`;
  const require = createRequire(import.meta.url);
  const packageJson = require.resolve('@tensorflow/tfjs-backend-wasm/package.json');
  return join(dirname(packageJson), 'dist') + '/';
}

/**
 * Makes 'wasm' the active backend, with the optimized training kernels unless a kernel set was already
 * chosen. Multithreading is switched off first because the threaded build starts its worker from a
 * blob: URL, which Node rejects and then hangs.
 */
export async function useWasmBackendInNode(): Promise<void> {
  if (activeWasmTrainingKernels() == null) registerWasmTrainingKernels();
  if (tf.getBackend() === 'wasm') return;
  setWasmPaths(wasmBinaryDir());
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  const ok = await tf.setBackend('wasm');
  if (!ok || tf.getBackend() !== 'wasm') throw new Error('Could not start the tfjs wasm backend in Node.');
  await tf.ready();
}
