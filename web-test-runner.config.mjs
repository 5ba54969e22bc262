// @web/test-runner: the extension's Lit elements, the overlay content script and the browser-side image
// pipeline, in headless Chromium (the system /usr/bin/chromium; nothing is downloaded). chrome.* is a
// small fake (test/browser/fake-chrome.ts). The camera flags give getUserMedia a synthetic camera and
// auto-accept its prompt, so the live-preview path runs for real.
import { chromeLauncher } from '@web/test-runner-chrome';
import { esbuildPlugin } from '@web/dev-server-esbuild';

/**
 * webextension-polyfill ships only a UMD file. The rollup build converts it with @rollup/plugin-commonjs;
 * here it is wrapped as an ES module with the same default export (its UMD header takes the `exports` path).
 */
function webextensionPolyfillAsEsm() {
  return {
    name: 'webextension-polyfill-as-esm',
    transform(context) {
      if (!context.path.endsWith('/webextension-polyfill/dist/browser-polyfill.js')) return undefined;
      return {
        body: `const module = { exports: {} };\nconst exports = module.exports;\n${context.body}\nexport default module.exports;\n`,
      };
    },
  };
}

/**
 * core/ imports tfjs-core and tfjs-layers, whose ESM entry points pull CommonJS dependencies (long,
 * seedrandom) that the dev server cannot serve as modules. Their "fesm" files are self-contained ES
 * module bundles of the same version, so the tests import those (the extension build bundles the ESM
 * sources with rollup's commonjs plugin instead).
 */
function tensorflowFesm() {
  const FESM = {
    '@tensorflow/tfjs-core': '/node_modules/@tensorflow/tfjs-core/dist/tf-core.fesm.js',
    '@tensorflow/tfjs-layers': '/node_modules/@tensorflow/tfjs-layers/dist/tf-layers.fesm.js',
    '@tensorflow/tfjs-backend-wasm': '/node_modules/@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.fesm.js',
  };
  // The wasm backend's bundle imports Node built-ins for its Node path (never taken in a browser).
  const NODE_BUILTINS = new Set(['fs', 'path', 'perf_hooks', 'os', 'worker_threads']);
  return {
    name: 'tensorflow-fesm',
    resolveImport({ source }) {
      if (NODE_BUILTINS.has(source)) return '/test/browser/stubs/node-builtin.js';
      return FESM[source];
    },
  };
}

export default {
  files: ['test/browser/**/*.test.ts'],
  // 'production': the same lit build the extension bundles (and no dev-mode console noise).
  nodeResolve: { browser: true, exportConditions: ['production'] },
  plugins: [tensorflowFesm(), webextensionPolyfillAsEsm(), esbuildPlugin({ ts: true, tsconfig: 'tsconfig.json', target: 'es2022' })],
  browsers: [
    chromeLauncher({
      launchOptions: {
        executablePath: process.env.CHROME_PATH || '/usr/bin/chromium',
        headless: true,
        args: [
          '--no-sandbox',
          '--headless=new',
          '--disable-gpu',
          '--disable-dev-shm-usage',
          '--disable-background-networking',
          '--disable-component-update',
          '--no-first-run',
          '--use-fake-device-for-media-stream',
          '--use-fake-ui-for-media-stream',
        ],
      },
    }),
  ],
  concurrency: 1,
  testFramework: { config: { timeout: 20000 } },
  testsFinishTimeout: 180000,
};
