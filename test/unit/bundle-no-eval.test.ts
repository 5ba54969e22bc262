// Builds the extension (production settings) into a temporary folder and checks what Chrome and Firefox
// will load: no eval / new Function / string timers anywhere in the shipped JavaScript (MV3's CSP forbids
// them and the stores reject them), no remote code, the manifests' CSP and minimal permissions, the files
// the offscreen document loads at run time (wasm binaries, model), and the Firefox build as the
// Firefox build differs: its event-page background without the offscreen API, its gecko settings.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const outDir = mkdtempSync(join(tmpdir(), 'dermlens-bundle-'));
/** rollup.config.mjs writes the Firefox build beside the Chrome one. */
const firefoxDir = `${outDir}-firefox`;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

before(() => {
  const build = spawnSync(process.execPath, ['node_modules/rollup/dist/bin/rollup', '-c', '--silent'], {
    env: { ...process.env, DERMLENS_OUT_DIR: outDir, DERMLENS_DEV: '', DERMLENS_TEST_HOOKS: '' },
    encoding: 'utf8',
  });
  assert.equal(build.status, 0, `rollup failed:\n${build.stderr}`);
});

after(() => {
  rmSync(outDir, { recursive: true, force: true });
  rmSync(firefoxDir, { recursive: true, force: true });
});

/** Patterns that compile code from strings at run time. */
const FORBIDDEN: [string, RegExp][] = [
  ['eval(', /(?<![\w$.])eval\s*\(/],
  ['(0, eval)', /\(\s*0\s*,\s*eval\s*\)/],
  ['new Function', /new\s+Function\s*\(/],
  ['Function("...") call', /(?<![\w$.])Function\s*\(\s*["'`]/],
  ['setTimeout("...")', /set(?:Timeout|Interval)\s*\(\s*["'`]/],
];

test('no eval, new Function or string timers in any shipped script, Chrome or Firefox', () => {
  for (const dir of [outDir, firefoxDir]) {
    const scripts = files(dir).filter((f) => f.endsWith('.js'));
    assert.deepEqual(scripts.map((f) => relative(dir, f)).sort(), [
      'background.js',
      'content/overlay.js',
      'offscreen.js',
      'permission.js',
      'popup.js',
    ]);
    for (const file of scripts) {
      const code = readFileSync(file, 'utf8');
      for (const [name, pattern] of FORBIDDEN) {
        const match = pattern.exec(code);
        assert.equal(
          match,
          null,
          `${relative(dir, file)} contains ${name}: …${match ? code.slice(Math.max(0, match.index - 60), match.index + 40) : ''}…`,
        );
      }
    }
  }
});

test('the production backgrounds have no test hook (only DERMLENS_TEST_HOOKS=1 builds add self.dermlens)', () => {
  for (const dir of [outDir, firefoxDir]) {
    const worker = readFileSync(join(dir, 'background.js'), 'utf8');
    for (const name of ['menuClick', 'dermlens=', 'dermlens =']) assert.ok(!worker.includes(name), `${dir}/background.js contains ${name}`);
  }
});

test('the detector itself catches the patterns (so the test above can fail)', () => {
  const samples = ['x=eval("1")', '(0,eval)("this")', 'new Function("return this")', 'Function("r","x=r")(1)', 'setTimeout("alert(1)",1)'];
  samples.forEach((code, i) => assert.ok(FORBIDDEN[i][1].test(code), code));
  assert.ok(!FORBIDDEN.some(([, p]) => p.test('this.poolingFunction(x); model.evaluate(x); retrieval(y)')));
});

test('pages load only packaged scripts (no remote code) and the model/wasm files are packaged', () => {
  for (const page of ['popup.html', 'offscreen.html', 'permission.html']) {
    const html = readFileSync(join(outDir, page), 'utf8');
    const sources = [...html.matchAll(/<script[^>]*src="([^"]+)"/g)].map((m) => m[1]);
    assert.equal(sources.length, 1, page);
    for (const src of sources) {
      assert.doesNotMatch(src, /^(https?:)?\/\//, `${page} loads remote code`);
      assert.ok(statSync(join(outDir, src)).isFile(), `${page}: ${src} missing`);
    }
  }
  for (const script of files(outDir).filter((f) => f.endsWith('.js'))) {
    assert.doesNotMatch(readFileSync(script, 'utf8'), /import\s*\(?\s*["']https?:/, `${script} imports remote code`);
  }
  for (const file of ['wasm/tfjs-backend-wasm-simd.wasm', 'wasm/tfjs-backend-wasm.wasm', 'model/model.json', 'model/model-card.json']) {
    assert.ok(statSync(join(outDir, file)).size > 0, file);
  }
  assert.ok(!files(outDir).some((f) => f.includes('threaded')), 'the multi-threaded wasm build is not shipped');
  const modelJson = JSON.parse(readFileSync(join(outDir, 'model/model.json'), 'utf8'));
  for (const group of modelJson.weightsManifest)
    for (const path of group.paths) assert.ok(statSync(join(outDir, 'model', path)).size > 0, path);
});

test('manifest: MV3, wasm-only CSP relaxation, the documented minimal permissions', () => {
  const manifest = JSON.parse(readFileSync(join(outDir, 'manifest.json'), 'utf8'));
  const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
  assert.equal(manifest.manifest_version, 3);
  assert.equal(manifest.version, pkg.version);
  assert.equal(manifest.content_security_policy.extension_pages, "script-src 'self' 'wasm-unsafe-eval'; object-src 'self'");
  assert.deepEqual([...manifest.permissions].sort(), ['activeTab', 'contextMenus', 'offscreen', 'scripting']);
  assert.equal(manifest.host_permissions, undefined, 'no host access at install');
  assert.deepEqual(manifest.optional_host_permissions, ['http://*/*', 'https://*/*']);
  assert.equal(manifest.content_scripts, undefined, 'the overlay is injected on demand only');
  assert.equal(manifest.web_accessible_resources, undefined, 'pages cannot load extension files');
  assert.deepEqual(manifest.background, { service_worker: 'background.js', type: 'module' });
  for (const icon of Object.values(manifest.icons) as string[]) assert.ok(statSync(join(outDir, icon)).isFile(), icon);
});

test('Firefox build: the same files as Chrome, byte for byte, but its background and manifest', () => {
  const chromeFiles = files(outDir)
    .map((f) => relative(outDir, f))
    .sort();
  assert.deepEqual(
    files(firefoxDir)
      .map((f) => relative(firefoxDir, f))
      .sort(),
    chromeFiles,
  );
  for (const file of chromeFiles.filter((f) => f !== 'background.js' && f !== 'manifest.json')) {
    assert.ok(readFileSync(join(outDir, file)).equals(readFileSync(join(firefoxDir, file))), `${file} differs between the builds`);
  }
  const chromeBackground = readFileSync(join(outDir, 'background.js'), 'utf8');
  const firefoxBackground = readFileSync(join(firefoxDir, 'background.js'), 'utf8');
  const offscreenApi = /offscreen\.(createDocument|closeDocument|Reason)|getContexts/;
  assert.ok(offscreenApi.test(chromeBackground), 'Chrome opens an offscreen document');
  assert.ok(!offscreenApi.test(firefoxBackground), 'Firefox has no offscreen API: its background must not call it');
  assert.ok(firefoxBackground.includes('createElement("iframe")'), 'Firefox hosts offscreen.html in a frame of its event page');
});

test('Firefox manifest: event page, gecko id and settings, the same permissions but offscreen, the wasm CSP', () => {
  const chrome = JSON.parse(readFileSync(join(outDir, 'manifest.json'), 'utf8'));
  const firefox = JSON.parse(readFileSync(join(firefoxDir, 'manifest.json'), 'utf8'));
  assert.deepEqual(firefox.background, { scripts: ['background.js'], type: 'module' });
  assert.equal(firefox.browser_specific_settings.gecko.id, 'dermlens@dermlens');
  assert.ok(Number.parseFloat(firefox.browser_specific_settings.gecko.strict_min_version) >= 142, 'data_collection_permissions needs 142+');
  assert.deepEqual(firefox.browser_specific_settings.gecko.data_collection_permissions, { required: ['none'] });
  assert.deepEqual([...firefox.permissions].sort(), ['activeTab', 'contextMenus', 'scripting']);
  assert.equal(firefox.minimum_chrome_version, undefined);
  assert.equal(chrome.browser_specific_settings, undefined);
  assert.equal(JSON.stringify(firefox).includes('{{'), false, 'a browser prefix was left in');
  for (const key of [
    'manifest_version',
    'name',
    'version',
    'description',
    'icons',
    'action',
    'optional_host_permissions',
    'content_security_policy',
  ]) {
    assert.deepEqual(firefox[key], chrome[key], `${key} differs between the browsers`);
  }
  assert.equal(firefox.host_permissions, undefined, 'no host access at install');
});
