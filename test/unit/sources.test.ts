// Several data folders: the extra folder's reader and its errors, near-duplicate pictures, how the extra
// images are dealt (train / external / left out) by lesion id and by picture, and the per-epoch source mix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLASS_CODES } from '../../core/labels.ts';
import type { LabelledImage } from '../../trainer/data/metadata.ts';
import { makeRng } from '../../trainer/data/rng.ts';
import { nearDuplicatePairs, pictureHash, pictureHashOf, similarity } from '../../trainer/data/picture-hash.ts';
import { assignExtraSides, checkSourcesDistinct, hashSourcePictures, readExtraSource } from '../../trainer/data/sources.ts';
import { drawEpoch, epochSize, expectedDraws } from '../../trainer/train/source-mix.ts';
import { balancedClassWeights } from '../../trainer/train/loss.ts';
import { extraPicture, writeSyntheticExtra, type ExtraRow } from '../node/helpers/synthetic-extra.ts';
import { clinicalPartOf } from '../../trainer/data/clinical-photos.ts';
import { mkdir } from 'node:fs/promises';

const row = (imageId: string, dx: string, dataset: string, lesionId?: string): ExtraRow => ({ imageId, dx, dataset, lesionId });

test('picture signature: a rescaled, squashed copy matches its original; other pictures do not', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dermlens-hash-'));
  try {
    const rows = ['a', 'b', 'c', 'd', 'e', 'f'].map((id, k) => row(id, k % 2 ? 'mel' : 'nv', 'x'));
    await writeSyntheticExtra(dir, rows, { copies: [{ row: row('a-copy', rows[0].dx, 'y'), of: 'a' }] });
    const hashes = await Promise.all([...rows.map((r) => r.imageId), 'a-copy'].map((id) => pictureHash(join(dir, 'images', `${id}.jpg`))));
    const copy = hashes[6];
    assert.ok(similarity(hashes[0], copy) > 0.99, `copy correlation ${similarity(hashes[0], copy)}`);
    for (let k = 1; k < 6; k++) assert.ok(similarity(hashes[k], copy) < 0.97, `picture ${k} vs copy: ${similarity(hashes[k], copy)}`);
    assert.deepEqual(nearDuplicatePairs(hashes), [[0, 6]]);
    // A flat picture has no shape: it matches nothing, not even another flat one.
    const flat = pictureHashOf(new Array(16 * 16 * 3).fill(128));
    assert.deepEqual(nearDuplicatePairs([flat, flat, null]), []);
    assert.throws(() => pictureHashOf([1, 2, 3]), /expected 16x16 RGB = 768 values, got 3/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('extra folder: external collections held out, copies of external pictures and lesions left out of both', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dermlens-extra-'));
  try {
    const rows = [
      row('ext1', 'mel', 'msk', 'L1'),
      row('ext2', 'nv', 'msk', 'L2'),
      row('ext3', 'nv', 'ph2'),
      row('tr1', 'mel', 'archive'),
      row('tr2', 'nv', 'archive'),
      // Another picture of lesion L1, filed under a training collection: must not train.
      row('tr-same-lesion', 'mel', 'archive', 'L1'),
      row('tr3', 'bkl', 'isic2017', 'L9'),
      row('tr4', 'bkl', 'isic2017', 'L9'),
    ];
    await writeSyntheticExtra(dir, rows, {
      copies: [
        { row: row('tr-copy-of-ext3', 'nv', 'archive'), of: 'ext3' },
        { row: row('tr-copy-of-tr1', 'mel', 'isic2017'), of: 'tr1' },
      ],
      squashed: ['tr-copy-of-tr1'],
    });
    const source = await readExtraSource(dir);
    assert.equal(source.items.length, 10);
    assert.equal(source.items.find((i) => i.imageId === 'ext3')!.lesionId, 'ext3', 'no lesion id: its own lesion');
    assert.equal(source.items.find((i) => i.imageId === 'ext1')!.dataset, 'msk');
    assert.deepEqual([...source.squashed], ['tr-copy-of-tr1']);
    const hashes = await hashSourcePictures(source);
    const sides = assignExtraSides(source.items, hashes, new Set(['msk', 'ph2']));
    assert.deepEqual(sides.external.sort(), ['ext1', 'ext2', 'ext3']);
    assert.deepEqual(sides.excluded.sort(), ['tr-copy-of-ext3', 'tr-same-lesion']);
    assert.deepEqual(sides.train.sort(), ['tr-copy-of-tr1', 'tr1', 'tr2', 'tr3', 'tr4']);
    // L1 joins ext1 and tr-same-lesion, L9 joins tr3 and tr4; two pictures are copies.
    assert.deepEqual(sides.grouped, { byLesion: 2, byPicture: 2 });
    // Without external collections everything trains.
    assert.equal(assignExtraSides(source.items, hashes, new Set()).train.length, 10);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('extra folder reader: a missing labels.csv and a bad row are named with the fix', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dermlens-extra-bad-'));
  try {
    await assert.rejects(
      readExtraSource(dir),
      new RegExp(`${join(dir, 'labels.csv')} not found: an --extra-data folder needs a labels.csv`),
    );
    await writeFile(join(dir, 'labels.csv'), 'image_id,dx,lesion_id,dataset\nA,mel,,msk\nB,melanoma,,msk\n');
    await assert.rejects(readExtraSource(dir), new RegExp(`labels\\.csv:3: unknown dx code "melanoma" \\(expected one of akiec, bcc`));
    await writeFile(join(dir, 'labels.csv'), 'image_id,dx\nA,mel\nA,nv\n');
    await assert.rejects(readExtraSource(dir), /labels\.csv:3: duplicate image_id A \(first listed on line 2\)/);
    const a = await (async () => {
      await writeFile(join(dir, 'labels.csv'), 'image_id,dx\nA,mel\n');
      return readExtraSource(dir);
    })();
    assert.throws(
      () => checkSourcesDistinct([a, { ...a, name: 'other', labelFile: '/x/labels.csv' }]),
      /image A is listed in both .*labels\.csv and \/x\/labels\.csv/,
    );
    assert.throws(() => checkSourcesDistinct([a, a]), /two data folders are both called/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('source mix: each epoch draws the given share per source, fresh each epoch, deterministic; class weights follow it', () => {
  const items: LabelledImage[] = [
    ...Array.from({ length: 100 }, (_, k) => ({ imageId: `h${k}`, lesionId: `h${k}`, label: k % 2 ? 5 : 4, source: 'ham10000' })),
    ...Array.from({ length: 40 }, (_, k) => ({
      imageId: `x${k}`,
      lesionId: `x${k}`,
      label: 4,
      source: 'isic-extra',
      dataset: k < 10 ? 'isic2020' : 'isic2017',
    })),
  ];
  const idx = items.map((_, i) => i);
  const itemOf = (i: number) => items[i];
  const rates = { 'isic-extra': 0.5, isic2020: 2 };
  // 100 HAM10000 + half of 30 isic2017 + twice 10 isic2020.
  assert.equal(epochSize(idx, itemOf, rates), 100 + 15 + 20);
  const a = drawEpoch(idx, itemOf, rates, makeRng(1));
  const b = drawEpoch(idx, itemOf, rates, makeRng(2));
  assert.equal(a.length, 135);
  const count = (draw: number[], pred: (it: LabelledImage) => boolean) => draw.filter((i) => pred(items[i])).length;
  assert.equal(
    count(a, (it) => it.source === 'ham10000'),
    100,
  );
  assert.equal(
    count(a, (it) => it.dataset === 'isic2017'),
    15,
  );
  assert.equal(
    count(a, (it) => it.dataset === 'isic2020'),
    20,
  );
  assert.equal(new Set(a.filter((i) => items[i].dataset === 'isic2017')).size, 15, 'without replacement');
  assert.notDeepEqual(a.filter((i) => items[i].dataset === 'isic2017').sort(), b.filter((i) => items[i].dataset === 'isic2017').sort());
  assert.deepEqual(drawEpoch(idx, itemOf, rates, makeRng(1)), a, 'same seed, same draw');
  assert.deepEqual(drawEpoch(idx, itemOf, undefined, makeRng(1)), idx, 'no rates: every image once');
  // Class weights count each image as often as it is drawn: mel = 50 + 15 + 20 = 85 expected, nv = 50.
  const w = balancedClassWeights(
    idx.map((i) => items[i].label),
    7,
    expectedDraws(idx, itemOf, rates),
  );
  assert.ok(Math.abs(w[4] - 135 / (2 * 85)) < 1e-12 && Math.abs(w[5] - 135 / (2 * 50)) < 1e-12, w.join(', '));
});

test('a clinical-photo folder (PAD-UFES-20 layout) as extra data: its training patients train, the others and their copies are held out', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dermlens-clinical-extra-'));
  try {
    await mkdir(join(dir, 'images'));
    // Patient ids whose hash lands in each part (clinical-photos.ts deals patients by sha256 of the id).
    const patients = Array.from({ length: 40 }, (_, i) => `PAT_${i}`);
    const trainPatient = patients.find((p) => clinicalPartOf(p) === 'train')!;
    const valPatient = patients.find((p) => clinicalPartOf(p) === 'val')!;
    const heldoutPatient = patients.find((p) => clinicalPartOf(p) === 'heldout')!;
    const rng = makeRng(4);
    const lines = ['patient_id,lesion_id,diagnostic,img_id'];
    const photo = async (patient: string, n: number, dx: string, picture?: Buffer) => {
      const id = `${patient}_${n}`;
      const bytes = picture ?? (await extraPicture(n % 7, rng));
      await writeFile(join(dir, 'images', `${id}.jpg`), bytes);
      lines.push(`${patient},${n},${dx},${id}.png`);
      return bytes;
    };
    await photo(trainPatient, 1, 'NEV');
    await photo(trainPatient, 2, 'ACK');
    await photo(trainPatient, 3, 'SCC'); // no DermLens class: not listed
    await photo(valPatient, 4, 'BCC');
    const heldoutPicture = await photo(heldoutPatient, 5, 'SEK');
    // The held-out patient's picture filed again under a training patient: may not train.
    await photo(trainPatient, 6, 'SEK', heldoutPicture);
    await writeFile(join(dir, 'metadata.csv'), `${lines.join('\n')}\n`);

    const source = await readExtraSource(dir);
    assert.equal(source.labelFile, join(dir, 'metadata.csv'));
    assert.deepEqual(
      source.items.map((i) => [i.imageId, CLASS_CODES[i.label], i.lesionId, i.dataset]),
      [
        [`${trainPatient}_1`, 'nv', `patient ${trainPatient}`, 'patients-train'],
        [`${trainPatient}_2`, 'akiec', `patient ${trainPatient}`, 'patients-train'],
        [`${valPatient}_4`, 'bcc', `patient ${valPatient}`, 'patients-val'],
        [`${heldoutPatient}_5`, 'bkl', `patient ${heldoutPatient}`, 'patients-heldout'],
        [`${trainPatient}_6`, 'bkl', `patient ${trainPatient}`, 'patients-train'],
      ],
    );
    assert.deepEqual([...source.heldOut!.ids].sort(), [`${heldoutPatient}_5`, `${valPatient}_4`].sort());
    assert.match(source.heldOut!.why, /validation and held-out patients/);
    const sides = assignExtraSides(source.items, await hashSourcePictures(source), new Set(), undefined, source.heldOut!.ids);
    assert.deepEqual(sides.external, []);
    // The copy joins the held-out photo by picture, and the training patient's other photos join it by patient:
    // a patient with a photo shared with a held-out patient trains nowhere.
    assert.deepEqual(sides.train, []);
    assert.equal(sides.excluded.length, 5);
    // Without the copy, the training patient trains.
    const withoutCopy = source.items.filter((i) => !i.imageId.endsWith('_6'));
    const again = assignExtraSides(
      withoutCopy,
      await hashSourcePictures({ ...source, items: withoutCopy }),
      new Set(),
      undefined,
      source.heldOut!.ids,
    );
    assert.deepEqual(again.train, [`${trainPatient}_1`, `${trainPatient}_2`]);
    assert.deepEqual(again.excluded.sort(), [`${heldoutPatient}_5`, `${valPatient}_4`].sort());
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
