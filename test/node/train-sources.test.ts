// dermlens train with an extra data folder, end to end on the cpu backend: the HAM10000 split is the one a
// run without the folder draws, the extra folder's external collections are held out (never trained on)
// and scored every epoch and at the end per collection, copies of external pictures train nowhere, the
// manifest counts every image per source, side and class, and the source mix is part of the resume check.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '@tensorflow/tfjs-backend-cpu';
import { tf } from '../../core/tf.ts';
import { CLASS_CODES } from '../../core/labels.ts';
import { initBackend } from '../../trainer/backends/select.ts';
import { flagValue, TRAIN_FLAGS } from '../../trainer/run/train-flags.ts';
import { splitByLesion } from '../../trainer/data/split.ts';
import { parseHamMetadata } from '../../trainer/data/metadata.ts';
import { train } from '../../trainer/train/train.ts';
import { buildEnsemble } from '../../trainer/evaluate/ensemble.ts';
import { readCandidates } from '../../trainer/ship/candidates.ts';
import { readTraining } from '../../trainer/ship/read-run.ts';
import { loadClassifierOnly } from '../../trainer/run/model-files.ts';
import { exportModel } from '../../trainer/model/export.ts';
import { attachGate, featureModel } from '../../core/dermoscopy-gate.ts';
import { DEFAULT_TRAIN_CONFIG, type TrainConfig } from '../../trainer/run/config.ts';
import { writeSyntheticHam, type SyntheticHam } from './helpers/synthetic-ham.ts';
import { writeSyntheticExtra, type ExtraRow } from './helpers/synthetic-extra.ts';

let root: string;
let ham: SyntheticHam;
let extraDir: string;
const logs: string[] = [];
const quiet = { progress: 'off' as const, log: (line: string) => void logs.push(line) };

const extraRows: ExtraRow[] = [
  ...Array.from({ length: 8 }, (_, k): ExtraRow => ({ imageId: `MSK_${k}`, dx: k % 2 ? 'mel' : 'nv', dataset: 'msk', lesionId: `ML${k}` })),
  ...Array.from({ length: 4 }, (_, k): ExtraRow => ({ imageId: `PH2_${k}`, dx: k % 2 ? 'mel' : 'bkl', dataset: 'ph2' })),
  ...Array.from({ length: 12 }, (_, k): ExtraRow => ({ imageId: `ARC_${k}`, dx: ['mel', 'nv', 'bkl'][k % 3], dataset: 'archive' })),
];

function config(outDir: string, overrides: Partial<TrainConfig> = {}): TrainConfig {
  return {
    ...DEFAULT_TRAIN_CONFIG,
    dataDir: ham.dir,
    extraData: [extraDir],
    outDir,
    arch: 'seed',
    size: 16,
    epochs: 2,
    batch: 16,
    seed: 7,
    balance: 'weights',
    ...overrides,
  };
}

describe('dermlens train with --extra-data (cpu backend)', { timeout: 600_000 }, () => {
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'dermlens-sources-'));
    ham = await writeSyntheticHam(join(root, 'ham10000'), { perClass: 10 });
    extraDir = await writeSyntheticExtra(join(root, 'isic-extra'), extraRows, {
      // A copy of an external picture filed under a training collection, and a squashed copy of a training one.
      copies: [
        { row: { imageId: 'ARC_copy_of_PH2_1', dx: 'mel', dataset: 'archive' }, of: 'PH2_1' },
        { row: { imageId: 'ARC_copy_of_ARC_0', dx: 'mel', dataset: 'archive' }, of: 'ARC_0' },
      ],
      squashed: ['ARC_copy_of_ARC_0'],
    });
    await initBackend('cpu', { allowCpuForTraining: true, log: null });
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test('HAM10000 split unchanged, external held out and scored, manifest written, no tensors leak', async () => {
    const out = join(root, 'run');
    const before = tf.memory().numTensors;
    const result = await train(config(out, { sourceRates: { 'isic-extra': 0.5 }, tta: true }), quiet);
    assert.equal(tf.memory().numTensors, before, 'no tensors left behind');

    const split = JSON.parse(await readFile(join(out, 'split.json'), 'utf8'));
    // The HAM10000 part is exactly the split a run without extra folders draws.
    const hamOnly = splitByLesion(parseHamMetadata(await readFile(ham.metadataPath, 'utf8'), ham.metadataPath), {
      seed: 7,
      valFraction: DEFAULT_TRAIN_CONFIG.valFraction,
      testFraction: DEFAULT_TRAIN_CONFIG.testFraction,
    });
    assert.deepEqual(split.val, hamOnly.val);
    assert.deepEqual(split.test, hamOnly.test);
    const extraTrain = split.train.filter((id: string) => !id.startsWith('ISIC_'));
    assert.deepEqual(split.train.slice(0, hamOnly.train.length), hamOnly.train);
    assert.deepEqual(extraTrain.sort(), [...Array.from({ length: 12 }, (_, k) => `ARC_${k}`), 'ARC_copy_of_ARC_0'].sort());
    assert.deepEqual(split.external.sort(), [...extraRows.filter((r) => r.dataset !== 'archive').map((r) => r.imageId)].sort());
    assert.deepEqual(split.excluded, ['ARC_copy_of_PH2_1']);

    const manifest = JSON.parse(await readFile(join(out, 'sources.json'), 'utf8'));
    assert.deepEqual(manifest.external, ['ph2', 'msk']);
    assert.deepEqual(
      manifest.sources.map((s: { name: string }) => s.name),
      ['ham10000', 'isic-extra'],
    );
    const extra = manifest.sources[1];
    assert.equal(extra.listed, 26);
    assert.deepEqual(extra.counts.external, { ...Object.fromEntries(CLASS_CODES.map((c) => [c, 0])), bkl: 2, mel: 6, nv: 4 });
    assert.equal(extra.counts.excluded.mel, 1);
    assert.deepEqual(extra.byCollection, { 'msk/external': 8, 'ph2/external': 4, 'archive/train': 13, 'archive/excluded': 1 });
    assert.equal(manifest.sources[0].counts.unreadable.nv, 1, 'the corrupt HAM10000 image is counted as unreadable');
    assert.ok(
      logs.some((l) => /^source isic-extra: train 13, external 12, excluded 1/.test(l)),
      logs.filter((l) => l.startsWith('source')).join('\n'),
    );
    // 13 extra training images at rate 0.5: 7 drawn (rounded) beside the HAM10000 training images each epoch.
    const hamTrain = hamOnly.train.filter((id) => id !== ham.corruptId).length;
    assert.ok(logs.includes(`source mix: ${hamTrain + 7} images drawn per epoch from ${hamTrain + 13}`));

    // Every epoch reports the external set beside validation; the final evaluation per collection.
    const history = JSON.parse(await readFile(join(out, 'history.json'), 'utf8'));
    for (const h of history) assert.ok(h.extBalancedAccuracy >= 0 && h.extBalancedAccuracy <= 1, JSON.stringify(h));
    assert.ok(logs.some((l) => /^epoch 2\/2 .* ext_bal_acc \d\.\d{4}/.test(l)));
    const ext = result.final!.external!;
    assert.equal(ext.all.n, 12);
    assert.deepEqual(Object.keys(ext.byCollection), ['msk', 'ph2']);
    assert.equal(ext.byCollection.msk.n, 8);
    assert.equal(ext.byCollection.ph2.perClass.bkl.support, 2);
    const predictions = JSON.parse(await readFile(join(out, 'predictions.json'), 'utf8'));
    assert.equal(predictions.external.imageIds.length, 12);
    assert.equal(predictions.external.collections.filter((c: string) => c === 'ph2').length, 4);
    const detail = JSON.parse(await readFile(join(out, 'metrics-detail.json'), 'utf8'));
    assert.equal(detail.external.byCollection.msk.n, 8);

    // The mix is part of the recipe: a resume with another rate is refused, naming it.
    await assert.rejects(
      train(config(out, { sourceRates: { 'isic-extra': 1 }, tta: true }), { ...quiet, resume: true }),
      /cannot resume .* \(sourceRates: saved \{"isic-extra":0\.5\}, requested \{"isic-extra":1\}\)/,
    );
  });

  test('--drop-squashed leaves the listed copies out; a bad --external or --source-rate is named', async () => {
    const out = join(root, 'run-dropped');
    await train(config(out, { epochs: 1, dropSquashed: true }), quiet);
    const split = JSON.parse(await readFile(join(out, 'split.json'), 'utf8'));
    assert.ok(!split.train.includes('ARC_copy_of_ARC_0'));
    const manifest = JSON.parse(await readFile(join(out, 'sources.json'), 'utf8'));
    assert.equal(manifest.sources[1].droppedSquashed, 1);

    await assert.rejects(
      train(config(join(root, 'bad-ext'), { external: ['nope'] }), quiet),
      /--external nope: no such collection in .*labels\.csv \(its dataset column has: archive, msk, ph2\)/,
    );
    const rateFlag = TRAIN_FLAGS.find((f) => f.name === 'source-rate')!;
    assert.deepEqual(flagValue(rateFlag, 'isic-extra=0.5, isic2020=2'), { 'isic-extra': 0.5, isic2020: 2 });
    assert.throws(
      () => flagValue(rateFlag, 'isic-extra'),
      /--source-rate expects name=number pairs separated by commas \(e\.g\. isic-extra=0\.5\), got "isic-extra"/,
    );
    await assert.rejects(
      train(config(join(root, 'bad-rate'), { sourceRates: { 'isic-extra': -1 } }), quiet),
      /--source-rate isic-extra=-1: a rate is the share/,
    );
    await assert.rejects(
      train({ ...config(join(root, 'no-extra'), { sourceRates: { x: 1 } }), extraData: undefined }, quiet),
      /--source-rate, --external and --drop-squashed apply to --extra-data folders; none was given/,
    );
  });
  test('--select-on val+external keeps the epoch with the best mean of the two validation scores; it needs an external set', async () => {
    const out = join(root, 'run-select');
    const result = await train(config(out, { epochs: 4, selectOn: 'val+external' }), quiet);
    const history = JSON.parse(await readFile(join(out, 'history.json'), 'utf8')) as Array<{
      epoch: number;
      valBalancedAccuracy: number;
      extBalancedAccuracy: number;
    }>;
    const means = history.map((h) => (h.valBalancedAccuracy + h.extBalancedAccuracy) / 2);
    // The first epoch reaching the highest mean (a later tie does not replace it).
    const expected = history[means.indexOf(Math.max(...means))].epoch;
    assert.equal(result.bestEpoch, expected);
    assert.ok(Math.abs(result.bestValBalancedAccuracy - Math.max(...means)) < 1e-9);
    const saved = JSON.parse(await readFile(join(out, 'config.json'), 'utf8'));
    assert.equal(saved.selectOn, 'val+external');
    await assert.rejects(
      train(config(out, { epochs: 4 }), { ...quiet, resume: true }),
      /cannot resume .* \(selectOn: saved "val\+external", requested undefined\)/,
    );
    await assert.rejects(
      train({ ...config(join(root, 'select-no-extra'), { selectOn: 'val+external' }), extraData: undefined }, quiet),
      /--select-on val\+external needs an external set: give --extra-data/,
    );
  });
  test('an ensemble of runs with extra folders scores the external set per collection; its training side is the union of the members', async () => {
    // Two compact members (merging needs functional models) on one split; the first leaves the squashed copy out.
    const a = join(root, 'member-a');
    const b = join(root, 'member-b');
    await train(config(a, { arch: 'compact', epochs: 1, dropSquashed: true }), quiet);
    await train(config(b, { arch: 'compact', epochs: 1, seed: 8, splitSeed: 7 }), quiet);
    // Member a has been through fit-gate (a second output): it joins as its classifier alone.
    const { model: aModel, metadata: aMeta, dispose } = await loadClassifierOnly(join(a, 'best'));
    const gated = attachGate(aModel, new Float32Array(featureModel(aModel).outputs[0].shape[1]! * 3), [0, 0, 0]);
    await exportModel(gated, join(a, 'best'), { ...aMeta, dermoscopyThreshold: 0.5, clinicalThreshold: 0.5 });
    dispose();
    const out = join(root, 'ensemble');
    const before = tf.memory().numTensors;
    const { config: saved, final } = await buildEnsemble({ members: [a, b], outDir: out, tta: false, quantize: 'none' }, { log: () => {} });
    assert.equal(tf.memory().numTensors, before, 'no tensors left behind');
    assert.deepEqual(saved.extraData, [extraDir]);
    const merged = JSON.parse(await readFile(join(out, 'best', 'model.json'), 'utf8'));
    assert.equal(merged.modelTopology.config.output_layers.length, 1, "the members' gates are not merged");
    assert.equal(final.external!.all.n, 12);
    assert.deepEqual(Object.keys(final.external!.byCollection), ['msk', 'ph2']);
    assert.equal(final.external!.byCollection.ph2.n, 4);
    const predictions = JSON.parse(await readFile(join(out, 'predictions.json'), 'utf8'));
    assert.equal(predictions.external.imageIds.length, 12);
    const split = JSON.parse(await readFile(join(out, 'split.json'), 'utf8'));
    const splitA = JSON.parse(await readFile(join(a, 'split.json'), 'utf8'));
    assert.ok(!splitA.train.includes('ARC_copy_of_ARC_0'));
    assert.deepEqual(split.train, [...splitA.train, 'ARC_copy_of_ARC_0'], "b's extra training image joins a's");
    assert.deepEqual([split.val, split.test, split.external], [splitA.val, splitA.test, splitA.external]);
    assert.equal(split.counts.train.mel, splitA.counts.train.mel + 1);

    // A member that holds out other images (here only msk as external) is refused before anything is written.
    const c = join(root, 'member-c');
    await train(config(c, { arch: 'compact', epochs: 1, seed: 9, splitSeed: 7, external: ['msk'] }), quiet);
    await assert.rejects(
      buildEnsemble({ members: [a, c], outDir: join(root, 'ensemble-bad'), tta: false, quantize: 'none' }, { log: () => {} }),
      /member .*member-c holds out other images than .*member-a \(validation, test or external\)/,
    );

    // dermlens ship takes the ensemble as a candidate of member a although it trained on one more image;
    // a run that holds out other images is refused.
    const configA = JSON.parse(await readFile(join(a, 'config.json'), 'utf8'));
    const detailA = JSON.parse(await readFile(join(a, 'metrics-detail.json'), 'utf8'));
    const shipped = { runDir: a, training: await readTraining(a, configA), detail: detailA };
    const ensembleLeads = final.val.balancedAccuracy > detailA.val.balancedAccuracy;
    const { candidates } = await readCandidates(shipped, [out], ensembleLeads ? 'a reason' : undefined, splitA);
    assert.deepEqual(
      candidates.map((row) => [row.run, row.valBalancedAccuracy]),
      [
        ['member-a', detailA.val.balancedAccuracy],
        ['ensemble', final.val.balancedAccuracy],
      ],
    );
    await assert.rejects(readCandidates(shipped, [c], 'a reason', splitA), /candidate .*member-c holds out other images/);
  });
});
