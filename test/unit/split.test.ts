import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NUM_CLASSES, CLASS_CODES } from '../../core/labels.ts';
import type { LabelledImage } from '../../trainer/data/metadata.ts';
import { makeRng } from '../../trainer/data/rng.ts';
import { countSplit, loadSplit, saveSplit, splitByLesion, splitIndices, SIDES } from '../../trainer/data/split.ts';

/** A HAM-like synthetic set: per class a number of lesions with 1..maxPerLesion images each. */
function syntheticItems(lesionsPerClass: number[], maxPerLesion: number, seed: number): LabelledImage[] {
  const rng = makeRng(seed);
  const items: LabelledImage[] = [];
  lesionsPerClass.forEach((lesions, label) => {
    for (let l = 0; l < lesions; l++) {
      const images = 1 + Math.floor(rng() * rng() * maxPerLesion); // skewed towards 1, like HAM10000
      for (let k = 0; k < images; k++) items.push({ imageId: `img_${label}_${l}_${k}`, lesionId: `les_${label}_${l}`, label });
    }
  });
  return items;
}

const opts = { seed: 42, valFraction: 0.15, testFraction: 0.15 };

test('every image lands on exactly one side and every lesion stays on one side', () => {
  const items = syntheticItems([120, 200, 400, 40, 400, 2500, 50], 6, 1);
  const split = splitByLesion(items, opts);
  const all = [...split.train, ...split.val, ...split.test];
  assert.equal(all.length, items.length);
  assert.equal(new Set(all).size, items.length);
  const lesionOf = new Map(items.map((i) => [i.imageId, i.lesionId]));
  const sideOfLesion = new Map<string, string>();
  for (const side of SIDES) {
    for (const id of split[side]) {
      const lesion = lesionOf.get(id)!;
      const prior = sideOfLesion.get(lesion);
      assert.ok(prior === undefined || prior === side, `lesion ${lesion} is on ${prior} and ${side}`);
      sideOfLesion.set(lesion, side);
    }
  }
});

test('per class, each side is within one lesion of its target image count', () => {
  const maxPerLesion = 6;
  const items = syntheticItems([120, 200, 400, 40, 400, 2500, 50], maxPerLesion, 2);
  const split = splitByLesion(items, opts);
  const counts = countSplit(split, items);
  for (let label = 0; label < NUM_CLASSES; label++) {
    const code = CLASS_CODES[label];
    const total = items.filter((i) => i.label === label).length;
    const val = Math.round(total * 0.15);
    const test = Math.round(total * 0.15);
    const targets = { train: total - val - test, val, test };
    for (const side of SIDES) {
      assert.ok(
        Math.abs(counts[side][code] - targets[side]) < maxPerLesion,
        `${code} ${side}: ${counts[side][code]} vs target ${targets[side]}`,
      );
    }
    // The rare class still reaches validation and test.
    assert.ok(counts.val[code] > 0 && counts.test[code] > 0, `${code} missing from val or test`);
  }
});

test('all-singleton lesions give exactly the rounded targets', () => {
  const items = syntheticItems([100, 100, 100, 100, 100, 100, 100], 1, 3);
  const counts = countSplit(splitByLesion(items, { seed: 7, valFraction: 0.2, testFraction: 0.1 }), items);
  for (const code of CLASS_CODES) assert.deepEqual([counts.train[code], counts.val[code], counts.test[code]], [70, 20, 10]);
});

test('deterministic for a seed, independent of input order, different for another seed', () => {
  const items = syntheticItems([50, 50, 80, 20, 80, 400, 20], 5, 4);
  const a = splitByLesion(items, opts);
  const reversed = splitByLesion([...items].reverse(), opts);
  assert.deepEqual(reversed, a);
  const b = splitByLesion(items, { ...opts, seed: 43 });
  assert.notDeepEqual(new Set(b.test), new Set(a.test));
});

test('a lesion with mixed labels follows its most common label', () => {
  const items: LabelledImage[] = [
    { imageId: 'a1', lesionId: 'A', label: 5 },
    { imageId: 'a2', lesionId: 'A', label: 5 },
    { imageId: 'a3', lesionId: 'A', label: 4 },
    ...Array.from({ length: 20 }, (_, k) => ({ imageId: `n${k}`, lesionId: `N${k}`, label: 5 })),
  ];
  const split = splitByLesion(items, opts);
  const side = SIDES.find((s) => split[s].includes('a1'))!;
  assert.ok(split[side].includes('a2') && split[side].includes('a3'));
});

test('invalid options and inputs are refused', () => {
  const items = syntheticItems([5, 5, 5, 5, 5, 5, 5], 1, 5);
  assert.throws(
    () => splitByLesion(items, { ...opts, valFraction: 0.6, testFraction: 0.4 }),
    /valFraction \+ testFraction must be below 1/,
  );
  assert.throws(() => splitByLesion(items, { ...opts, testFraction: -0.1 }), /testFraction must be in \[0, 1\)/);
  assert.throws(() => splitByLesion([...items, items[0]], opts), /image img_0_0_0 is listed twice/);
  assert.throws(() => splitByLesion([{ imageId: 'x', lesionId: 'y', label: 9 }], opts), /image x has label 9/);
});

test('saveSplit/loadSplit round-trip with seed, fractions and per-class counts; bad files are refused', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dermlens-split-'));
  try {
    const items = syntheticItems([10, 10, 10, 10, 10, 30, 10], 3, 6);
    const split = splitByLesion(items, opts);
    const path = join(dir, 'nested', 'split.json');
    await saveSplit(path, split, { ...opts, items, source: 'synthetic.csv' });
    const loaded = await loadSplit(path);
    assert.deepEqual([loaded.train, loaded.val, loaded.test], [split.train, split.val, split.test]);
    assert.deepEqual([loaded.seed, loaded.valFraction, loaded.testFraction, loaded.source], [42, 0.15, 0.15, 'synthetic.csv']);
    assert.deepEqual(loaded.counts, countSplit(split, items));
    assert.equal(
      Object.values(loaded.counts.val).reduce((a, b) => a + b, 0),
      split.val.length,
    );

    await assert.rejects(loadSplit(join(dir, 'none.json')), /split file not found: .*none\.json/);
    const bad = join(dir, 'bad.json');
    await writeFile(bad, '{ nope');
    await assert.rejects(loadSplit(bad), /cannot read split file .*bad\.json/);
    await writeFile(bad, JSON.stringify({ ...loaded, test: [...loaded.test, loaded.train[0]] }));
    await assert.rejects(loadSplit(bad), new RegExp(`image ${loaded.train[0]} is on both the train and the test side`));
    await writeFile(bad, JSON.stringify({ ...loaded, version: 2 }));
    await assert.rejects(loadSplit(bad), /unsupported version 2/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('splitIndices maps image ids to dataset positions and counts the ones not loaded', () => {
  const items: LabelledImage[] = ['a', 'b', 'c', 'd'].map((id) => ({ imageId: id, lesionId: id, label: 0 }));
  const result = splitIndices(items, { train: ['d', 'a', 'gone'], val: ['c'], test: ['b', 'also-gone'] });
  assert.deepEqual([result.train, result.val, result.test], [[3, 0], [2], [1]]);
  assert.deepEqual(result.missing, { train: 1, val: 0, test: 1, external: 0 });
  assert.deepEqual(result.external, []);
  const withExternal = splitIndices(items, { train: ['a'], val: ['b'], test: ['c'], external: ['d', 'gone'] });
  assert.deepEqual(withExternal.external, [3]);
  assert.equal(withExternal.missing.external, 1);
});
