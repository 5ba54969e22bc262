// Makes sure dist-test/ (the unpacked extension, TEST build: DERMLENS_TEST_HOOKS=1 adds the service
// worker's self.dermlens hook, see extension/background/test-hooks.ts) exists and is newer than its
// sources, building it otherwise, so `npm run test:e2e` and `npm run bench:extension` never test a stale
// build. `npm run build` makes dist/ and the store zip, which never contain the hook.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
/** The production build (`npm run build`): what ships. */
export const DIST = join(REPO_ROOT, 'dist');
/** The test build the e2e tests load: the production build plus the service worker's test hook. */
export const TEST_DIST = join(REPO_ROOT, 'dist-test');
/** The same test build for Firefox (rollup.config.mjs writes it beside dist-test/, last). */
export const TEST_DIST_FIREFOX = join(REPO_ROOT, 'dist-test-firefox');
const ROLLUP = join(REPO_ROOT, 'node_modules', 'rollup', 'dist', 'bin', 'rollup');
/** Everything the build reads; a change in any of these makes dist/ stale. */
const BUILD_INPUTS = ['extension', 'core', 'manifest.json', 'rollup.config.mjs', 'scripts/browser-manifest.mjs', 'package-lock.json'];

function newestMtime(path: string): number {
  let st;
  try {
    st = statSync(path);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = 0;
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, name)));
  return newest;
}

/** Why dist-test/ must be rebuilt, or undefined when it is up to date. */
export function staleReason(): string | undefined {
  // The Firefox build is written last: its manifest dates the whole build.
  const marker = join(TEST_DIST_FIREFOX, 'manifest.json');
  if (!existsSync(marker)) return 'dist-test-firefox/manifest.json is missing';
  const built = statSync(marker).mtimeMs;
  for (const input of BUILD_INPUTS) {
    if (newestMtime(join(REPO_ROOT, input)) > built) return `${input} changed after the last build`;
  }
  return undefined;
}

/**
 * Returns the directory to load as the unpacked extension: dist-test/ for Chrome, dist-test-firefox/
 * for Firefox. DERMLENS_DIST=<dir> (or DERMLENS_FIREFOX_DIST=<dir>) tests another unpacked build as is
 * (the right-click tests need a test build: DERMLENS_TEST_HOOKS=1 npx rollup -c);
 * DERMLENS_SKIP_BUILD=1 uses the test build without checking that it is up to date.
 */
export function ensureBuilt(browser: 'chrome' | 'firefox' = 'chrome'): string {
  const given = browser === 'firefox' ? process.env.DERMLENS_FIREFOX_DIST : process.env.DERMLENS_DIST;
  if (given) return resolve(given);
  const reason = process.env.DERMLENS_SKIP_BUILD ? undefined : staleReason();
  if (reason) {
    process.stderr.write(`[e2e] building the extension (test build, dist-test/): ${reason}\n`);
    const result = spawnSync(process.execPath, [ROLLUP, '-c', '--silent'], {
      cwd: REPO_ROOT,
      env: { ...process.env, DERMLENS_TEST_HOOKS: '1', DERMLENS_OUT_DIR: TEST_DIST },
      stdio: ['ignore', process.stderr, process.stderr],
    });
    if (result.status !== 0) throw new Error(`the test build (rollup -c, DERMLENS_TEST_HOOKS=1) failed (exit ${result.status})`);
  }
  const dist = browser === 'firefox' ? TEST_DIST_FIREFOX : TEST_DIST;
  if (!existsSync(join(dist, 'manifest.json'))) throw new Error(`${dist}/manifest.json missing after the build`);
  return dist;
}
