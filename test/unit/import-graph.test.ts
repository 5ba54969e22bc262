// The architecture as a test: walks every import (static, dynamic, type-only, re-export) of core/,
// trainer/ and extension/ and fails on an import cycle, and on an import that points from a lower layer
// to a higher one. The layers, lowest first:
//   core/                           shared by Node and the browser; imports nothing of the project's
//   extension/, trainer/            each imports core/ only (never each other)
//   vscode/                         core/, and reuses extension/components/ + shared/ and trainer/run/; nothing imports it
//   inside trainer/: run/, backends/ < data/ < model/ < evaluate/ < train/ < ship/ < cli/
// Nothing imports trainer/cli/ (bin/dermlens.js runs it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const TRAINER_RANK: Record<string, number> = { run: 0, backends: 0, data: 1, model: 2, evaluate: 3, train: 4, ship: 5, cli: 6 };

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = `${dir}/${name}`;
    if (statSync(join(ROOT, path)).isDirectory())
      return name === 'node_modules' || (name === 'model' && dir === 'extension') ? [] : sourceFiles(path);
    return /\.(ts|mjs)$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Project files a module imports, repo-relative. */
export function importsOf(file: string, text: string): string[] {
  const specs = [
    ...text.matchAll(
      /(?:^|[\s;])(?:import|export)\s[^'"`;]*?from\s*['"](\.{1,2}\/[^'"]+)['"]|import\s*\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)|^import\s+['"](\.{1,2}\/[^'"]+)['"]/gm,
    ),
  ].map((m) => m[1] ?? m[2] ?? m[3]);
  return specs.map((spec) => relative(ROOT, resolve(ROOT, dirname(file), spec)));
}

/** The layer of a file: 'core', 'extension', or 'trainer/<folder>'. */
function layerOf(file: string): { area: string; rank: number } {
  const [area, folder] = file.split('/');
  if (area === 'trainer') {
    if (!(folder in TRAINER_RANK)) throw new Error(`${file}: trainer/ files live in one of ${Object.keys(TRAINER_RANK).join(', ')}/`);
    return { area: `trainer/${folder}`, rank: TRAINER_RANK[folder] };
  }
  return { area, rank: 0 };
}

/** Why `from` may not import `to`, or null. */
export function layerViolation(from: string, to: string): string | null {
  const a = layerOf(from);
  const b = layerOf(to);
  if (a.area === b.area) return null;
  if (b.area === 'core') return null;
  if (a.area === 'core') return `core/ imports ${b.area}/ (core is shared by Node and the browser and must not)`;
  const [aTop] = a.area.split('/');
  const [bTop] = b.area.split('/');
  if (aTop === 'vscode' && bTop !== 'vscode')
    return /^(extension\/(components|shared)|trainer\/run)\//.test(to)
      ? null
      : `vscode/ imports ${to} (it reuses extension/components/, extension/shared/ and trainer/run/ only)`;
  if (aTop !== bTop) return `${aTop}/ imports ${bTop}/`;
  if (b.area === 'trainer/cli') return 'nothing imports trainer/cli/ (entry points only)';
  if (b.rank >= a.rank) return `${a.area}/ (layer ${a.rank}) imports ${b.area}/ (layer ${b.rank}): dependencies point down only`;
  return null;
}

export function findCycle(graph: Map<string, string[]>): string[] | null {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): string[] | null => {
    if (state.get(node) === 'done') return null;
    if (state.get(node) === 'open') return [...stack.slice(stack.indexOf(node)), node];
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(node, 'done');
    return null;
  };
  for (const node of [...graph.keys()].sort()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return null;
}

const files = ['core', 'trainer', 'extension', 'vscode'].flatMap(sourceFiles);
const graph = new Map(
  files.map((f) => [f, importsOf(f, readFileSync(join(ROOT, f), 'utf8')).filter((t) => /^(core|trainer|extension|vscode)\//.test(t))]),
);

test('the import graph of core/, trainer/, extension/ and vscode/ has no cycle (static, dynamic or type-only)', () => {
  assert.ok(files.length > 100, `walked ${files.length} files`);
  const cycle = findCycle(graph);
  assert.equal(cycle, null, `import cycle: ${cycle?.join(' -> ')}`);
});

test('imports point from higher layers to lower ones only', () => {
  const violations = [...graph]
    .flatMap(([from, targets]) => targets.map((to) => [from, to, layerViolation(from, to)] as const))
    .filter(([, , why]) => why !== null)
    .map(([from, to, why]) => `${from} -> ${to}: ${why}`);
  assert.deepEqual(violations, []);
});

test('every imported project file exists (the walk sees real edges)', () => {
  const missing = [...graph].flatMap(([from, targets]) =>
    targets.filter((t) => !files.includes(t) && !/\.(json|css|html)$/.test(t)).map((t) => `${from} -> ${t}`),
  );
  assert.deepEqual(missing, []);
});

test('the checks catch what they are for (a cycle, a dynamic import, a type-only import, an upward import)', () => {
  assert.deepEqual(
    findCycle(
      new Map([
        ['a', ['b']],
        ['b', ['c']],
        ['c', ['a']],
      ]),
    ),
    ['a', 'b', 'c', 'a'],
  );
  assert.equal(
    findCycle(
      new Map([
        ['a', ['b']],
        ['b', []],
      ]),
    ),
    null,
  );
  assert.deepEqual(
    importsOf(
      'trainer/train/x.ts',
      "const m = await import('../data/y.ts');\nimport type { T } from './z.ts';\nexport { q } from '../run/w.ts';",
    ),
    ['trainer/data/y.ts', 'trainer/train/z.ts', 'trainer/run/w.ts'],
  );
  assert.match(layerViolation('trainer/data/a.ts', 'trainer/train/b.ts') ?? '', /points down only|layer/);
  assert.match(layerViolation('core/a.ts', 'trainer/run/b.ts') ?? '', /core\/ imports/);
  assert.match(layerViolation('extension/a.ts', 'trainer/run/b.ts') ?? '', /extension\/ imports trainer/);
  assert.match(layerViolation('trainer/train/a.ts', 'trainer/cli/b.ts') ?? '', /trainer\/cli/);
  assert.equal(layerViolation('vscode/src/a.ts', 'extension/components/b.ts'), null);
  assert.match(layerViolation('vscode/src/a.ts', 'extension/background/b.ts') ?? '', /vscode\/ imports extension\/background/);
  assert.match(layerViolation('vscode/src/a.ts', 'trainer/data/b.ts') ?? '', /vscode\/ imports trainer\/data/);
  assert.match(layerViolation('extension/a.ts', 'vscode/src/b.ts') ?? '', /extension\/ imports vscode\//);
  assert.equal(layerViolation('trainer/train/a.ts', 'trainer/data/b.ts'), null);
});
