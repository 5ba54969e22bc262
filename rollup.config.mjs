// Builds the Chrome extension into dist/ (load it unpacked; `npm run build` then zips it for the store).
// One self-contained bundle per extension context, no shared chunks: the service worker and the pages
// as ES modules, the content script as a classic IIFE (executeScript cannot inject modules).
// TensorFlow.js is bundled from its ESM sources (its UMD build uses Function(), which MV3's CSP forbids),
// with every @tensorflow module kept for its side effects: tree-shaking otherwise drops the flag and
// kernel registrations and the backend fails at start-up ("Cannot evaluate flag ...").
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import commonjs from '@rollup/plugin-commonjs';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import esbuild, { minify } from 'rollup-plugin-esbuild';
import { keepTensorflowSideEffects, withoutWasmThreads } from './scripts/rollup-tfjs.mjs';

const root = dirname(fileURLToPath(import.meta.url));
// DERMLENS_OUT_DIR: build elsewhere (the bundle test builds into a temporary folder, leaving dist/ alone).
const outDir = process.env.DERMLENS_OUT_DIR ? resolve(process.env.DERMLENS_OUT_DIR) : join(root, 'dist');
const dev = process.env.DERMLENS_DEV === '1';
// DERMLENS_TEST_HOOKS=1: a test build, whose service worker also has the self.dermlens hook
// (extension/background/test-hooks.ts) that the e2e tests and the benchmark drive. test/e2e/build.ts
// builds it into dist-test/; `npm run build` (dist/ and the store zip) never contains it.
const testHooks = process.env.DERMLENS_TEST_HOOKS === '1';
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/** The wasm binaries the single-threaded backend may pick: SIMD, and plain for CPUs/browsers without it. */
const WASM_FILES = ['tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm.wasm'];

const NODE_ONLY_MODULES = ['fs', 'path', 'os', 'perf_hooks', 'worker_threads', 'crypto', 'util', 'node-fetch'];

rmSync(outDir, { recursive: true, force: true });

/** Copies the manifest (version from package.json), pages, icons, model and wasm files into dist/. */
function copyStaticFiles() {
  return {
    name: 'copy-static-files',
    writeBundle() {
      const manifest = JSON.parse(readFileSync(join(root, 'manifest.json'), 'utf8'));
      manifest.version = pkg.version;
      writeFileSync(join(outDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
      for (const page of ['popup.html', 'offscreen.html', 'permission.html']) cpSync(join(root, 'extension', page), join(outDir, page));
      cpSync(join(root, 'extension', 'icons'), join(outDir, 'icons'), { recursive: true, filter: (p) => !p.endsWith('.svg') });
      cpSync(join(root, 'extension', 'model'), join(outDir, 'model'), { recursive: true });
      mkdirSync(join(outDir, 'wasm'), { recursive: true });
      const wasmDir = join(root, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist');
      for (const file of WASM_FILES) cpSync(join(wasmDir, file), join(outDir, 'wasm', file));
    },
  };
}

function bundle(input, output, format, extraPlugins = []) {
  return {
    input: join(root, 'extension', input),
    output: {
      file: join(outDir, output),
      format,
      sourcemap: dev,
      inlineDynamicImports: true,
    },
    plugins: [
      withoutWasmThreads(),
      keepTensorflowSideEffects(),
      nodeResolve({ browser: true, preferBuiltins: false, extensions: ['.ts', '.mjs', '.js', '.json'] }),
      // Node-only modules required inside `if (IS_NODE)` branches of tfjs and its emscripten glue: leave
      // the require() calls in place (never reached in Chrome) instead of hoisting them to imports.
      commonjs({ ignore: NODE_ONLY_MODULES }),
      esbuild({ target: 'chrome116', tsconfig: join(root, 'tsconfig.json'), minify: false }),
      ...(dev ? [] : [minify({ target: 'chrome116', legalComments: 'none' })]),
      ...extraPlugins,
    ],
    onwarn(warning, warn) {
      // tfjs and lit use `this` at the top level of some UMD/ESM files; harmless in a bundle.
      if (warning.code === 'THIS_IS_UNDEFINED') return;
      // The Node-only require() calls left in place on purpose (NODE_ONLY_MODULES above).
      if (warning.plugin === 'esbuild-minify' && /Converting "require" to "esm"/.test(warning.message)) return;
      warn(warning);
    },
  };
}

export default [
  bundle(testHooks ? 'background/test-hooks.ts' : 'background.ts', 'background.js', 'es'),
  bundle('offscreen.ts', 'offscreen.js', 'es'),
  bundle('popup.ts', 'popup.js', 'es'),
  bundle('permission.ts', 'permission.js', 'es'),
  bundle('content/overlay.ts', 'content/overlay.js', 'iife', [copyStaticFiles()]),
];
