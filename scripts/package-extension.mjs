#!/usr/bin/env node
// Zips dist/ (after `rollup -c`) into dist-packages/dermlens-<version>.zip for the Chrome Web Store and
// dist-firefox/ into dist-packages/dermlens-<version>-firefox.zip for addons.mozilla.org (or Firefox's
// about:debugging "Load Temporary Add-on"), each with manifest.json at the zip root. Runs `web-ext lint`
// on dist-firefox/ first: any error or warning fails the build, as AMO's review would flag it. Fails if
// a build folder is missing or a zip exceeds the 5 MB budget.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { zipSync } from 'fflate';

const MAX_ZIP_BYTES = 5 * 1024 * 1024;
const outDir = 'dist-packages';
const PACKAGES = [
  { dir: 'dist', suffix: '' },
  { dir: 'dist-firefox', suffix: '-firefox' },
];

function readManifest(dir) {
  try {
    return JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  } catch {
    console.error(`${dir}/manifest.json not found: run \`npx rollup -c\` (or \`npm run build\`) first.`);
    process.exit(1);
  }
}

/** Lints the Firefox build as addons.mozilla.org does; exits on any error or warning. */
function lintFirefox(dir) {
  const webExt = join('node_modules', 'web-ext', 'bin', 'web-ext.js');
  const lint = spawnSync(
    process.execPath,
    [webExt, 'lint', '--source-dir', dir, '--warnings-as-errors', '--no-input', '--output', 'json'],
    {
      encoding: 'utf8',
    },
  );
  let report;
  try {
    report = JSON.parse(lint.stdout);
  } catch {
    console.error(`web-ext lint did not run (exit ${lint.status}): ${lint.stderr || lint.stdout}`);
    process.exit(1);
  }
  const problems = [...report.errors, ...report.warnings, ...report.notices];
  for (const p of problems) console.error(`${dir}/${p.file ?? ''}:${p.line ?? ''}:${p.column ?? ''} ${p._type} ${p.code}: ${p.message}`);
  if (problems.length) {
    console.error(`web-ext lint: ${problems.length} problem(s) in ${dir}/ (fix them; AMO review reports the same).`);
    process.exit(1);
  }
  console.log(`${dir}: web-ext lint clean`);
}

function zipDir(dir, suffix) {
  const manifest = readManifest(dir);
  const files = {};
  (function walk(folder) {
    for (const name of readdirSync(folder).sort()) {
      const path = join(folder, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (!name.endsWith('.map')) files[relative(dir, path).split(sep).join('/')] = readFileSync(path);
    }
  })(dir);
  // Fixed timestamps so the same build always gives the same zip.
  const zip = zipSync(files, { level: 9, mtime: new Date('2020-01-01T00:00:00Z') });
  mkdirSync(outDir, { recursive: true });
  const zipPath = join(outDir, `dermlens-${manifest.version}${suffix}.zip`);
  writeFileSync(zipPath, zip);
  const unpacked = Object.values(files).reduce((sum, data) => sum + data.length, 0);
  console.log(
    `${zipPath}: ${Object.keys(files).length} files, ${(zip.length / 1024).toFixed(0)} KiB zipped (${(unpacked / 1024).toFixed(0)} KiB unpacked)`,
  );
  if (zip.length > MAX_ZIP_BYTES) {
    console.error(`${zipPath} is larger than the ${MAX_ZIP_BYTES / 1024 / 1024} MB budget.`);
    process.exit(1);
  }
}

readManifest('dist');
lintFirefox('dist-firefox');
for (const { dir, suffix } of PACKAGES) zipDir(dir, suffix);
