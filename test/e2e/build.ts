// Makes sure dist/ (the unpacked extension) exists and is newer than its sources, running
// `npm run build` otherwise, so `npm run test:e2e` and `npm run bench:extension` never test a stale build.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const DIST = join(REPO_ROOT, 'dist');
/** Everything the build reads; a change in any of these makes dist/ stale. */
const BUILD_INPUTS = ['extension', 'core', 'manifest.json', 'rollup.config.mjs', 'package-lock.json'];

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

/** Why dist/ must be rebuilt, or undefined when it is up to date. */
export function staleReason(): string | undefined {
  const marker = join(DIST, 'manifest.json');
  if (!existsSync(marker)) return 'dist/manifest.json is missing';
  const built = statSync(marker).mtimeMs;
  for (const input of BUILD_INPUTS) {
    if (newestMtime(join(REPO_ROOT, input)) > built) return `${input} changed after the last build`;
  }
  return undefined;
}

/**
 * Returns the directory to load as the unpacked extension. DERMLENS_DIST=<dir> tests another
 * unpacked build as is (e.g. the unzipped package); DERMLENS_SKIP_BUILD=1 uses dist/ without
 * checking that it is up to date.
 */
export function ensureBuilt(): string {
  if (process.env.DERMLENS_DIST) return resolve(process.env.DERMLENS_DIST);
  const reason = process.env.DERMLENS_SKIP_BUILD ? undefined : staleReason();
  if (reason) {
    process.stderr.write(`[e2e] building the extension: ${reason}\n`);
    const result = spawnSync('npm', ['run', 'build'], { cwd: REPO_ROOT, stdio: ['ignore', process.stderr, process.stderr] });
    if (result.status !== 0) throw new Error(`npm run build failed (exit ${result.status})`);
  }
  if (!existsSync(join(DIST, 'manifest.json'))) throw new Error('dist/manifest.json missing after the build');
  return DIST;
}
