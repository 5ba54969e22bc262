// scripts/browser-manifest.mjs: the one manifest source turned into each browser's manifest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { manifestFor } from '../../scripts/browser-manifest.mjs';

const source = {
  name: 'X',
  version: '0.0.0',
  '{{chrome}}.minimum_chrome_version': '116',
  background: { '{{chrome}}.service_worker': 'bg.js', '{{firefox}}.scripts': ['bg.js'], type: 'module' },
  list: [{ '{{firefox}}.only': 1, both: 2 }],
};

test("keeps shared keys, renames the browser's own, drops the other browser's, at any depth", () => {
  assert.deepEqual(manifestFor(source, 'chrome', '1.2.3'), {
    name: 'X',
    version: '1.2.3',
    minimum_chrome_version: '116',
    background: { service_worker: 'bg.js', type: 'module' },
    list: [{ both: 2 }],
  });
  assert.deepEqual(manifestFor(source, 'firefox', '1.2.3'), {
    name: 'X',
    version: '1.2.3',
    background: { scripts: ['bg.js'], type: 'module' },
    list: [{ only: 1, both: 2 }],
  });
});

test('refuses an unknown browser, a misspelt prefix and a key given twice, naming the key', () => {
  assert.throws(() => manifestFor(source, 'safari', '1'), /unknown browser "safari"/);
  assert.throws(() => manifestFor({ a: { '{{firefx}}.b': 1 } }, 'chrome', '1'), /"a\.\{\{firefx\}\}\.b" names no known browser/);
  assert.throws(() => manifestFor({ b: 1, '{{chrome}}.b': 2 }, 'chrome', '1'), /"b" is given twice for chrome/);
});
