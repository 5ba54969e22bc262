#!/usr/bin/env node
// Runs every *.test.ts under test/unit and test/node with node's built-in test runner.
// Node 20's runner does not pick up .ts files from a directory, so we list them here.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const roots = process.argv.slice(2).length ? process.argv.slice(2) : ['test/unit', 'test/node'];
const files = [];
function walk(path) {
  let st;
  try {
    st = statSync(path);
  } catch {
    return;
  }
  if (st.isDirectory()) for (const name of readdirSync(path).sort()) walk(join(path, name));
  else if (path.endsWith('.test.ts')) files.push(path);
}
roots.forEach(walk);
if (files.length === 0) {
  console.error(`no *.test.ts files under ${roots.join(', ')}`);
  process.exit(1);
}
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
