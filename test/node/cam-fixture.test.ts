// The committed "where it looked" expectation for the browser parity test is what Node computes now.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CAM_FIXTURE_PATH, computeCamFixture } from '../../scripts/make-cam-fixture.ts';

test('committed cam-expected.json matches what Node computes now (wasm backend)', async () => {
  const now = await computeCamFixture();
  const committed = JSON.parse(readFileSync(CAM_FIXTURE_PATH, 'utf8'));
  const hint = 'run: node --import tsx scripts/make-cam-fixture.ts';
  assert.deepEqual(committed.crop, now.crop, hint);
  assert.equal(committed.map.code, now.map.code, hint);
  assert.deepEqual([committed.map.width, committed.map.height], [now.map.width, now.map.height], hint);
  now.probabilities.forEach((p: number, k: number) =>
    assert.ok(Math.abs(p - committed.probabilities[k]) < 1e-6, `${hint}: probability ${k}`),
  );
  now.map.values.forEach((v: number, i: number) => assert.ok(Math.abs(v - committed.map.values[i]) < 1e-5, `${hint}: cell ${i}`));
});
