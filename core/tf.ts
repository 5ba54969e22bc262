// The one place core/ imports TensorFlow.js from. Core uses tfjs-core + tfjs-layers only (no backend),
// so Node picks tfjs-node or wasm and the extension bundles wasm, without pulling webgl into either.
export * as tf from './tf-namespace.ts';
