// Builds the Chrome extension into dist/ and the Firefox one into dist-firefox/ (load them unpacked; `npm run
// build` then zips both for the stores). Both come from the same sources and share every bundle except the
// background (a Chrome service worker that opens an offscreen document; a Firefox event page that hosts
// offscreen.html in a frame): the Firefox background is built with each `x.firefox.ts` in place of its
// sibling `x.ts`. The manifest of each comes from the one manifest.json (scripts/browser-manifest.mjs).
// One self-contained bundle per extension context, no shared chunks: the service worker and the pages
// as ES modules, the content script as a classic IIFE (executeScript cannot inject modules).
// TensorFlow.js is bundled from its ESM sources (its UMD build uses Function(), which MV3's CSP forbids),
// with every @tensorflow module kept for its side effects: tree-shaking otherwise drops the flag and
// kernel registrations and the backend fails at start-up ("Cannot evaluate flag ...").
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import commonjs from '@rollup/plugin-commonjs';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import esbuild, { minify } from 'rollup-plugin-esbuild';
import { manifestFor } from './scripts/browser-manifest.mjs';
import { keepTensorflowSideEffects, withoutWasmThreads } from './scripts/rollup-tfjs.mjs';

const root = dirname(fileURLToPath(import.meta.url));
// DERMLENS_OUT_DIR: build elsewhere (the bundle test builds into a temporary folder, leaving dist/ alone).
const outDir = process.env.DERMLENS_OUT_DIR ? resolve(process.env.DERMLENS_OUT_DIR) : join(root, 'dist');
/** The Firefox build beside it: dist-firefox/, dist-test-firefox/, or <DERMLENS_OUT_DIR>-firefox. */
const firefoxDir = `${outDir}-firefox`;
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
rmSync(firefoxDir, { recursive: true, force: true });
const manifestSource = JSON.parse(readFileSync(join(root, 'manifest.json'), 'utf8'));

/**
 * Lit creates each template once with `template.innerHTML = <the template's own static markup>` (values
 * are bound through the DOM later, never as HTML). Safe, but Mozilla's add-on linter (web-ext lint, AMO
 * review) flags every innerHTML assignment and offers no way to explain one; DOMParser parses the same
 * markup the same way (a template's content is inert either way) without the assignment.
 */
function litTemplatesWithoutInnerHtml() {
  const CREATE = /static createElement\((\w+),(\w+)\)\{const (\w+)=(\w+)\.createElement\("template"\);return \3\.innerHTML=\1,\3\}/;
  return {
    name: 'lit-templates-without-innerhtml',
    transform(code, id) {
      if (!/[\\/]lit-html[\\/]lit-html\.js$/.test(id)) return null;
      if (!CREATE.test(code)) {
        this.error(
          `${id}: Template.createElement no longer reads as this plugin expects; update litTemplatesWithoutInnerHtml in rollup.config.mjs`,
        );
      }
      return code.replace(
        CREATE,
        (_, html, options) =>
          `static createElement(${html},${options}){return new DOMParser().parseFromString("<template>"+${html}+"</template>","text/html").querySelector("template")}`,
      );
    },
  };
}

/** In the Firefox build, resolves every import of `x.ts` to its sibling `x.firefox.ts` where there is one. */
function firefoxSiblings() {
  return {
    name: 'firefox-siblings',
    async resolveId(source, importer, options) {
      if (options.custom?.['firefox-siblings']) return null;
      const resolved = await this.resolve(source, importer, {
        ...options,
        skipSelf: true,
        custom: { ...options.custom, 'firefox-siblings': true },
      });
      if (!resolved || resolved.external || !resolved.id.endsWith('.ts')) return resolved;
      const sibling = resolved.id.replace(/\.ts$/, '.firefox.ts');
      return existsSync(sibling) ? { ...resolved, id: sibling } : resolved;
    },
  };
}

function writeManifest(dir, browser) {
  writeFileSync(join(dir, 'manifest.json'), `${JSON.stringify(manifestFor(manifestSource, browser, pkg.version), null, 2)}\n`);
}

/** Makes dist-firefox/: every file of dist/ but its background and manifest (written after dist/ is complete). */
function completeFirefoxBuild() {
  return {
    name: 'complete-firefox-build',
    writeBundle() {
      cpSync(outDir, firefoxDir, {
        recursive: true,
        filter: (p) => !['background.js', 'background.js.map', 'manifest.json'].includes(relative(outDir, p)),
      });
      writeManifest(firefoxDir, 'firefox');
    },
  };
}

/** Copies the manifest (version from package.json), pages, icons, model and wasm files into dist/. */
function copyStaticFiles() {
  return {
    name: 'copy-static-files',
    writeBundle() {
      writeManifest(outDir, 'chrome');
      for (const page of ['popup.html', 'offscreen.html', 'permission.html']) cpSync(join(root, 'extension', page), join(outDir, page));
      cpSync(join(root, 'extension', 'icons'), join(outDir, 'icons'), { recursive: true, filter: (p) => !p.endsWith('.svg') });
      cpSync(join(root, 'extension', 'model'), join(outDir, 'model'), { recursive: true });
      mkdirSync(join(outDir, 'wasm'), { recursive: true });
      const wasmDir = join(root, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist');
      for (const file of WASM_FILES) cpSync(join(wasmDir, file), join(outDir, 'wasm', file));
    },
  };
}

function bundle(input, output, format, extraPlugins = [], dir = outDir) {
  return {
    input: join(root, 'extension', input),
    output: {
      file: join(dir, output),
      format,
      sourcemap: dev,
      inlineDynamicImports: true,
    },
    plugins: [
      ...extraPlugins.filter((plugin) => plugin.name === 'firefox-siblings'),
      withoutWasmThreads(),
      litTemplatesWithoutInnerHtml(),
      keepTensorflowSideEffects(),
      nodeResolve({ browser: true, preferBuiltins: false, extensions: ['.ts', '.mjs', '.js', '.json'] }),
      // Node-only modules required inside `if (IS_NODE)` branches of tfjs and its emscripten glue: leave
      // the require() calls in place (never reached in Chrome) instead of hoisting them to imports.
      commonjs({ ignore: NODE_ONLY_MODULES }),
      esbuild({ target: ['chrome116', 'firefox142'], tsconfig: join(root, 'tsconfig.json'), minify: false }),
      ...(dev ? [] : [minify({ target: ['chrome116', 'firefox142'], legalComments: 'none' })]),
      ...extraPlugins.filter((plugin) => plugin.name !== 'firefox-siblings'),
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

const background = testHooks ? 'background/test-hooks.ts' : 'background.ts';

export default [
  bundle(background, 'background.js', 'es'),
  bundle('offscreen.ts', 'offscreen.js', 'es'),
  bundle('popup.ts', 'popup.js', 'es'),
  bundle('permission.ts', 'permission.js', 'es'),
  bundle('content/overlay.ts', 'content/overlay.js', 'iife', [copyStaticFiles()]),
  // Last: rollup builds these in order, so dist/ is complete when the Firefox build copies from it.
  bundle(background, 'background.js', 'es', [firefoxSiblings(), completeFirefoxBuild()], firefoxDir),
];
