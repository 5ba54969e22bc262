// trainer/run/files.ts: run files are checked when read, and a damaged one is named with its field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_TRAIN_CONFIG } from '../../trainer/run/config.ts';
import { readHistory, readMetricsDetail, readTrainConfig } from '../../trainer/run/files.ts';
import { readJsonIfExists, writeJsonAtomic } from '../../trainer/run/json.ts';
import { runPaths } from '../../trainer/run/layout.ts';

const goodConfig = { ...DEFAULT_TRAIN_CONFIG, dataDir: '/data', outDir: '/run' };
const goodEpoch = {
  epoch: 1,
  loss: 1.2,
  valLoss: 1,
  valAccuracy: 0.5,
  valBalancedAccuracy: 0.4,
  valMacroF1: 0.3,
  valMacroAuc: 0.8,
  lr: 0.001,
  seconds: 3,
};

async function runWith(files: Record<string, unknown>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dermlens-run-files-'));
  for (const [name, value] of Object.entries(files))
    await writeFile(join(dir, name), typeof value === 'string' ? value : JSON.stringify(value));
  return dir;
}

test('good files read back as written', async () => {
  const dir = await runWith({ 'config.json': goodConfig, 'history.json': [goodEpoch] });
  assert.equal((await readTrainConfig(dir)).lr, DEFAULT_TRAIN_CONFIG.lr);
  assert.deepEqual(await readHistory(dir), [goodEpoch]);
  assert.equal(await readMetricsDetail(dir), undefined, 'an optional file that is not there is undefined');
});

test('a damaged config.json names the file and the field', async () => {
  const dir = await runWith({ 'config.json': { ...goodConfig, lr: 'fast' } });
  await assert.rejects(
    readTrainConfig(dir),
    (e: Error) => e.message.includes(runPaths(dir).config) && /field "lr"/.test(e.message) && /damaged/.test(e.message),
  );
  const dir2 = await runWith({ 'config.json': { ...goodConfig, balance: 'sometimes' } });
  await assert.rejects(readTrainConfig(dir2), /field "balance"/);
  // The input is a side or "WxH" (a non-square model), nothing else.
  assert.equal((await readTrainConfig(await runWith({ 'config.json': { ...goodConfig, size: '160x120' } }))).size, '160x120');
  await assert.rejects(readTrainConfig(await runWith({ 'config.json': { ...goodConfig, size: '160 by 120' } })), /field "size"/);
});

test('a damaged history.json names the epoch and the field', async () => {
  const dir = await runWith({ 'history.json': [goodEpoch, { ...goodEpoch, epoch: 2, valBalancedAccuracy: 'x' }] });
  await assert.rejects(
    readHistory(dir),
    (e: Error) => e.message.includes('history.json') && /field "1\.valBalancedAccuracy"/.test(e.message),
  );
});

test('a file that is not JSON says so, with its path', async () => {
  const dir = await runWith({ 'config.json': '{"lr": 0.1,' });
  await assert.rejects(readTrainConfig(dir), (e: Error) => e.message.includes(runPaths(dir).config) && /JSON/.test(e.message));
});

test('writes are atomic: no temporary file is left, and the content is complete', async () => {
  const dir = await runWith({});
  const path = join(dir, 'x.json');
  await writeJsonAtomic(path, { a: [1, 2, 3] });
  assert.deepEqual(JSON.parse(await readFile(path, 'utf8')), { a: [1, 2, 3] });
  assert.deepEqual(await readJsonIfExists(path), { a: [1, 2, 3] });
  assert.equal(await readJsonIfExists(join(dir, 'missing.json')), undefined);
});
