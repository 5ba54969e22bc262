import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appendProvenance, currentProvenance, readProvenance } from '../../trainer/run/provenance.ts';

test('provenance: each start appends the trainer commit; a run without the file reads as empty', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dermlens-prov-'));
  try {
    assert.deepEqual(await readProvenance(dir), []);
    const first = currentProvenance(false);
    // This test runs from the project's checkout (CI clones it), so HEAD is a 40-hex commit.
    assert.match(first.commit ?? '', /^[0-9a-f]{40}$/);
    assert.equal(typeof first.dirty, 'boolean');
    await appendProvenance(dir, first);
    await appendProvenance(dir, currentProvenance(true));
    const entries = await readProvenance(dir);
    assert.deepEqual(
      entries.map((e) => e.resumed),
      [false, true],
    );
    assert.ok(!Number.isNaN(Date.parse(entries[1].startedAt)));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
