// The CLI's side of "every input gets the same answer": `dermlens classify` on the good and hostile
// files of test/helpers/hostile-images.ts, in one call. Each refused file gets exactly the message the
// extension shows (test/e2e/hostile-inputs.test.ts checks the extension against the same table),
// nothing crashes, and the good files in the same call, after the bad ones too, are still classified.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLASS_CODES } from '../../core/labels.ts';
import { hostileCases } from '../helpers/hostile-images.ts';

interface Line {
  file: string;
  error?: string;
  predictions?: { code: string; probability: number }[];
}

test(
  'dermlens classify answers every hostile file with the shared message and still classifies the good ones',
  { timeout: 180_000 },
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dermlens-hostile-'));
    try {
      const cases = await hostileCases();
      // The first good file again at the end: a file after all the refused ones is still classified.
      const all = [...cases, { ...cases[0], name: `again-${cases[0].name}` }];
      for (const c of all) await writeFile(join(dir, c.name), c.bytes);
      const run = spawnSync(
        process.execPath,
        ['bin/dermlens.js', 'classify', '--json', '--backend', 'cpu', ...all.map((c) => join(dir, c.name))],
        {
          encoding: 'utf8',
          timeout: 170_000,
          env: { ...process.env, DERMLENS_DEBUG: '' },
        },
      );
      assert.equal(run.status, 1, `exit status 1 when some files are refused; stderr: ${run.stderr}`);
      assert.doesNotMatch(run.stderr, /\n\s+at |Error:/, 'no stack trace or raw exception');
      const lines = run.stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Line); // other lines: the backend used
      assert.equal(lines.length, all.length, run.stdout);
      for (const [i, c] of all.entries()) {
        const line = lines[i];
        assert.equal(line.file, join(dir, c.name));
        if (c.expect === 'accept') {
          assert.equal(line.error, undefined, `${c.name} was refused: ${line.error}`);
          assert.deepEqual(line.predictions!.map((p) => p.code).sort(), [...CLASS_CODES].sort(), c.name);
          const sum = line.predictions!.reduce((s, p) => s + p.probability, 0);
          assert.ok(Math.abs(sum - 1) < 1e-4, `${c.name}: probabilities sum to ${sum}`);
        } else {
          assert.equal(line.error, c.expect, c.name);
        }
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
);

test('dermlens classify without --json prints "<file>: <message>" for a refused file', { timeout: 120_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dermlens-hostile-'));
  try {
    const svg = (await hostileCases()).find((c) => c.name === 'drawing.svg')!;
    await writeFile(join(dir, svg.name), svg.bytes);
    const run = spawnSync(process.execPath, ['bin/dermlens.js', 'classify', '--backend', 'cpu', join(dir, svg.name)], {
      encoding: 'utf8',
      timeout: 110_000,
    });
    assert.equal(run.status, 1);
    assert.equal(
      run.stderr
        .split('\n')
        .filter((l) => l.includes(svg.name))
        .join('\n'),
      `${join(dir, svg.name)}: ${svg.expect}`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
