// Builds the VS Code extension into vscode/dist/ (then scripts/package-vscode.mjs packs the .vsix):
// the extension host's bundle (CommonJS for Node, `vscode` and Node's modules left external), one ES
// module per webview page, and beside them the model and the WebAssembly binaries they read at run
// time (tfjs' backend, the image decoders). Nothing else ships: no node_modules.
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import commonjs from '@rollup/plugin-commonjs';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import esbuild, { minify } from 'rollup-plugin-esbuild';
import { keepTensorflowSideEffects, withoutWasmThreads } from '../scripts/rollup-tfjs.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const outDir = join(here, 'dist');
const require = createRequire(import.meta.url);

/** WebAssembly files read from beside the bundle: tfjs' backend (SIMD and plain) and the decoders. */
const WASM_FILES = [
  '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm',
  '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm',
  '@cwasm/jpeg-turbo/jpeg-turbo.wasm',
  '@cwasm/lodepng/lodepng.wasm',
  '@cwasm/webp/webp.wasm',
  '@cwasm/nsgif/nsgif.wasm',
  '@cwasm/nsbmp/nsbmp.wasm',
];

rmSync(outDir, { recursive: true, force: true });

function copyRuntimeFiles() {
  return {
    name: 'copy-runtime-files',
    writeBundle() {
      mkdirSync(outDir, { recursive: true });
      for (const file of WASM_FILES) cpSync(require.resolve(file), join(outDir, file.split('/').pop()));
      cpSync(join(root, 'extension', 'model'), join(outDir, 'model'), { recursive: true });
    },
  };
}

const onwarn = (warning, warn) => {
  // tfjs and lit use `this` at the top level of some files; harmless in a bundle.
  if (warning.code === 'THIS_IS_UNDEFINED') return;
  warn(warning);
};

const extensionHost = {
  input: join(here, 'src', 'extension.ts'),
  output: { file: join(outDir, 'extension.cjs'), format: 'cjs', inlineDynamicImports: true, exports: 'named' },
  external: ['vscode', ...builtinModules, ...builtinModules.map((m) => `node:${m}`)],
  plugins: [
    withoutWasmThreads(),
    keepTensorflowSideEffects(),
    nodeResolve({ preferBuiltins: true, exportConditions: ['node'], extensions: ['.ts', '.mjs', '.js', '.json'] }),
    commonjs(),
    esbuild({ target: 'node20', tsconfig: join(root, 'tsconfig.json'), minify: false }),
    minify({ target: 'node20', legalComments: 'none' }),
    copyRuntimeFiles(),
  ],
  onwarn,
};

const webview = (name) => ({
  input: join(here, 'webview', `${name}.ts`),
  output: { file: join(outDir, `${name}.js`), format: 'es', inlineDynamicImports: true },
  plugins: [
    nodeResolve({ browser: true, extensions: ['.ts', '.mjs', '.js', '.json'] }),
    esbuild({ target: 'chrome116', tsconfig: join(root, 'tsconfig.json'), minify: false }),
    minify({ target: 'chrome116', legalComments: 'none' }),
  ],
  onwarn,
});

export default [extensionHost, webview('card-webview'), webview('folder-webview')];
