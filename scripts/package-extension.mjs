#!/usr/bin/env node
// Zips dist/ (after `rollup -c`) into dist-packages/dermlens-<version>.zip for the Chrome Web Store,
// with manifest.json at the zip root. Fails if dist/ is missing or the zip exceeds the 5 MB budget.
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { zipSync } from 'fflate';

const MAX_ZIP_BYTES = 5 * 1024 * 1024;
const distDir = 'dist';
const outDir = 'dist-packages';

let manifest;
try {
  manifest = JSON.parse(readFileSync(join(distDir, 'manifest.json'), 'utf8'));
} catch {
  console.error('dist/manifest.json not found: run `npx rollup -c` (or `npm run build`) first.');
  process.exit(1);
}

const files = {};
(function walk(dir) {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (!name.endsWith('.map')) files[relative(distDir, path).split(sep).join('/')] = readFileSync(path);
  }
})(distDir);

// Fixed timestamps so the same dist/ always gives the same zip.
const zip = zipSync(files, { level: 9, mtime: new Date('2020-01-01T00:00:00Z') });
mkdirSync(outDir, { recursive: true });
const zipPath = join(outDir, `dermlens-${manifest.version}.zip`);
writeFileSync(zipPath, zip);
const unpacked = Object.values(files).reduce((sum, data) => sum + data.length, 0);
console.log(
  `${zipPath}: ${Object.keys(files).length} files, ${(zip.length / 1024).toFixed(0)} KiB zipped (${(unpacked / 1024).toFixed(0)} KiB unpacked)`,
);
if (zip.length > MAX_ZIP_BYTES) {
  console.error(`The package is larger than the ${MAX_ZIP_BYTES / 1024 / 1024} MB budget.`);
  process.exit(1);
}
