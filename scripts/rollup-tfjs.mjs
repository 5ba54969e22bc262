// Rollup plugins every bundle of TensorFlow.js needs (the browser extension's rollup.config.mjs and the
// VS Code extension's vscode/rollup.config.mjs).

/** Marks every @tensorflow module as having side effects, overriding their package.json "sideEffects". */
export function keepTensorflowSideEffects() {
  return {
    name: 'keep-tensorflow-side-effects',
    async resolveId(source, importer, options) {
      if (options.custom?.['keep-tensorflow-side-effects']) return null;
      const resolved = await this.resolve(source, importer, {
        ...options,
        skipSelf: true,
        custom: { ...options.custom, 'keep-tensorflow-side-effects': true },
      });
      if (resolved && !resolved.external && /[\\/]@tensorflow[\\/]/.test(resolved.id)) return { ...resolved, moduleSideEffects: true };
      return resolved;
    },
  };
}

/**
 * Replaces tfjs-backend-wasm's multi-threaded build (emscripten glue + pthread worker source) with a stub.
 * It can never run here: threads need SharedArrayBuffer and Workers from blob: URLs, which the extension
 * CSP forbids, and WASM_HAS_MULTITHREAD_SUPPORT is set to false. Its worker source also contains an
 * `(0,eval)` (for Node), which must not appear in an MV3 bundle, even inside a string.
 */
export function withoutWasmThreads() {
  const STUB = '\0dermlens:no-wasm-threads';
  return {
    name: 'without-wasm-threads',
    resolveId(source, importer) {
      if (importer && /tfjs-backend-wasm/.test(importer) && /tfjs-backend-wasm-threaded-simd(\.worker)?\.js$/.test(source)) return STUB;
      return null;
    },
    load(id) {
      if (id !== STUB) return null;
      return [
        "export default function wasmThreadsUnavailable() { throw new Error('This build ships the single-threaded tfjs wasm backend only.'); }",
        "export const wasmWorkerContents = '';",
      ].join('\n');
    },
  };
}
