// The browser parity tests compare Chrome against expectations computed in Node and committed under
// test/browser/fixtures/. This recomputes them from core/preprocess.ts and sharp, so a change to the
// preprocessing (or to sharp's decode) cannot leave stale expectations behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { computeFixtures, EXPECTED_PATH, JPEG_PATH, PNG_PATH } from '../../scripts/make-browser-fixtures.ts';

test('committed browser fixtures match what Node computes now', async () => {
  const { expected, png, jpeg } = await computeFixtures();
  const committed = JSON.parse(readFileSync(EXPECTED_PATH, 'utf8'));
  const hint = 'run: node --import tsx scripts/make-browser-fixtures.ts';
  assert.deepEqual(
    committed.preprocess.map((c: { sha256: string }) => c.sha256),
    expected.preprocess.map((c) => c.sha256),
    hint,
  );
  assert.equal(committed.png.rgbaSha256, expected.png.rgbaSha256, hint);
  assert.equal(committed.png.preprocessSha256, expected.png.preprocessSha256, hint);
  assert.equal(committed.png.sameAsSource, true, 'PNG is lossless: sharp decodes exactly the formula pixels');
  assert.equal(committed.jpeg.preprocessU16Base64, expected.jpeg.preprocessU16Base64, hint);
  assert.ok(readFileSync(PNG_PATH).equals(png), hint);
  assert.ok(readFileSync(JPEG_PATH).equals(jpeg), hint);
});
