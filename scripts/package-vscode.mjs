#!/usr/bin/env node
// Packs vscode/ (after `rollup -c vscode/rollup.config.mjs`) into dist-packages/dermlens-vscode-<version>.vsix
// with @vscode/vsce, offline: the bundle, the webview scripts, the model and the .wasm files (vscode/.vscodeignore)
// and nothing from node_modules (everything is bundled). Prints the file list and the size.
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createVSIX, listFiles } from '@vscode/vsce';

const cwd = resolve('vscode');
if (!existsSync(join(cwd, 'dist', 'extension.cjs'))) {
  console.error('vscode/dist/extension.cjs not found: run `npx rollup -c vscode/rollup.config.mjs` (or `npm run build`) first.');
  process.exit(1);
}
const { name, version } = JSON.parse(readFileSync(join(cwd, 'package.json'), 'utf8'));
mkdirSync('dist-packages', { recursive: true });
const packagePath = resolve('dist-packages', `${name}-${version}.vsix`);
const options = { cwd, packagePath, dependencies: false, skipLicense: true, allowMissingRepository: true, allowStarActivation: false };
const files = await listFiles({ cwd, packageManager: 'none', dependencies: false });
await createVSIX(options);
console.log(
  `${packagePath}: ${files.length} files (${files.sort().join(', ')}), ${(statSync(packagePath).size / 1024 / 1024).toFixed(2)} MB`,
);
