// dermlens ship reads the previous model's card: none there is a first ship; a file that is not JSON is
// named with the fix instead of a bare parser message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readPreviousCard } from '../../trainer/ship/previous-card.ts';

test('the previous card: absent gives none, broken JSON is refused naming the file, a card is read', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dermlens-previous-'));
  try {
    assert.deepEqual(await readPreviousCard(join(dir, 'none.json')), { path: join(dir, 'none.json'), card: null });
    const broken = join(dir, 'broken.json');
    await writeFile(broken, '{"name": "DermLens');
    await assert.rejects(
      readPreviousCard(broken),
      (e: Error) => e.message.startsWith(`${broken} is not a model card (`) && /--previous/.test(e.message),
    );
    const good = join(dir, 'card.json');
    await writeFile(good, JSON.stringify({ name: 'DermLens test' }));
    assert.equal((await readPreviousCard(good)).card?.name, 'DermLens test');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
