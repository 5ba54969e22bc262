// dermlens fit-gate end to end on synthetic data (cpu backend): a tiny finished run, a tiny
// non-dermoscopic set in build-ood-set's layout and a tiny clinical-photo set in PAD-UFES-20's layout, then
// the three-way gate in the run's models, gate.json with the thresholds chosen on validation, and the
// CLI's classify --json / evaluate reporting each image's kind.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import sharp from 'sharp';
import '@tensorflow/tfjs-backend-cpu';
import { tf } from '../../core/tf.ts';
import { load } from '../../core/classifier.ts';
import { fileLoadHandler } from '../../trainer/run/model-files.ts';
import { initBackend } from '../../trainer/backends/select.ts';
import { train } from '../../trainer/train/train.ts';
import { DEFAULT_TRAIN_CONFIG } from '../../trainer/run/config.ts';
import { describeGate, fitGate, type GateReport } from '../../trainer/train/fit-gate.ts';
import { GATE_FILE } from '../../trainer/run/layout.ts';
import { makeRng } from '../../trainer/data/rng.ts';
import { clinicalPartOf } from '../../trainer/data/clinical-photos.ts';
import { evaluateModel } from '../../trainer/evaluate/evaluate-model.ts';
import { clinicalTrainingOf } from '../../trainer/ship/gate-card.ts';
import { writeSyntheticHam, type SyntheticHam } from './helpers/synthetic-ham.ts';

let root: string;
let data: SyntheticHam;
let run: string;
let ood: string;
let clinical: string;
const quiet = { progress: 'off' as const, log: () => {} };

/** Grey-blue noise and gradients: nothing like the synthetic lesions' saturated colours and stripes. */
async function writeOodSet(dir: string): Promise<void> {
  const rng = makeRng(11);
  const lines = ['file,source,package,licence,split'];
  await mkdir(join(dir, 'images'), { recursive: true });
  for (let i = 0; i < 36; i++) {
    const [w, h] = [48, 36];
    const pixels = Buffer.alloc(w * h * 3);
    for (let p = 0; p < w * h; p++) {
      const v = 90 + (p % w) + rng() * 30;
      pixels.set([v, v, Math.min(255, v + 40)], p * 3);
    }
    const file = `images/ood-${i}.png`;
    await writeFile(
      join(dir, file),
      await sharp(pixels, { raw: { width: w, height: h, channels: 3 } })
        .png()
        .toBuffer(),
    );
    lines.push(`${file},${i % 2 ? 'noise' : 'gradient'},test,generated,${['train', 'train', 'val', 'heldout'][i % 4]}`);
  }
  await writeFile(join(dir, 'manifest.csv'), `${lines.join('\n')}\n`);
}

/** PAD-UFES-20's layout: skin-tone photos with a soft brown blot, 3 per patient, patients named so each part gets some. */
async function writeClinicalSet(dir: string): Promise<void> {
  const rng = makeRng(13);
  const lines = ['patient_id,lesion_id,diagnostic,img_id'];
  await mkdir(join(dir, 'images'), { recursive: true });
  for (let p = 0; p < 24; p++) {
    for (let k = 0; k < 3; k++) {
      const [w, h] = [40, 40];
      const pixels = Buffer.alloc(w * h * 3);
      for (let q = 0; q < w * h; q++) {
        const [x, y] = [q % w, Math.floor(q / w)];
        // The blot moves from photo to photo, so no two photos are near-duplicates (trainer/data/picture-hash.ts).
        const [cx, cy] = [8 + ((p * 7 + k * 11) % 24), 8 + ((p * 5 + k * 13) % 24)];
        const blot = Math.max(0, 1 - Math.hypot(x - cx, y - cy) / (6 + ((p + k) % 4) * 3));
        const v = rng() * 20;
        // A dark blot and a light gradient that differs per photo.
        const light = 1 + 0.4 * Math.sin((x * (1 + (p % 3)) + y * (1 + (k % 2))) / 9);
        pixels.set([(225 - 160 * blot) * light + v, (180 - 140 * blot) * light + v, (160 - 120 * blot) * light + v], q * 3);
      }
      const id = `PAT_${p}_${k}_${p * 10 + k}`;
      await writeFile(
        join(dir, 'images', `${id}.jpg`),
        await sharp(pixels, { raw: { width: w, height: h, channels: 3 } })
          .jpeg()
          .toBuffer(),
      );
      lines.push(`PAT_${p},${k},${['NEV', 'BCC'][p % 2]},${id}.png`);
    }
  }
  await writeFile(join(dir, 'metadata.csv'), `${lines.join('\n')}\n`);
}

describe('dermlens fit-gate (cpu backend)', { timeout: 600_000 }, () => {
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'dermlens-gate-'));
    data = await writeSyntheticHam(join(root, 'data'), { perClass: 12 });
    await initBackend('cpu', { allowCpuForTraining: true, log: null });
    run = join(root, 'run');
    await train(
      {
        ...DEFAULT_TRAIN_CONFIG,
        dataDir: data.dir,
        outDir: run,
        arch: 'compact',
        size: 16,
        epochs: 2,
        batch: 16,
        seed: 5,
        quantize: 'float16',
      },
      quiet,
    );
    ood = join(root, 'ood');
    await writeOodSet(ood);
    clinical = join(root, 'clinical');
    await writeClinicalSet(clinical);
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test('fits the gate, writes it into both models and gate.json, and the CLI reports it', async () => {
    const tensors = tf.memory().numTensors;
    const report = await fitGate({ runDir: run, oodDir: ood, clinicalDir: clinical, log: () => {} });
    assert.equal(tf.memory().numTensors, tensors, 'no tensor leaks');
    assert.deepEqual(JSON.parse(await readFile(join(run, GATE_FILE), 'utf8')), JSON.parse(JSON.stringify(report)));
    const r: GateReport = report;
    assert.equal(r.format, 'dermlens-gate-v2');
    assert.deepEqual(r.kinds, ['dermoscopic', 'clinical', 'other']);
    assert.equal(r.training.notDermoscopic, 18);
    assert.deepEqual(r.training.notDermoscopicPerSource, { gradient: 9, noise: 9 });
    // The clinical photos are dealt by patient (3 photos each), as clinicalPartOf says.
    const patientsIn = (part: string) =>
      Array.from({ length: 24 }, (_, p) => `PAT_${p}`).filter((id) => clinicalPartOf(id) === part).length;
    assert.deepEqual(r.clinicalSet.patients, { train: patientsIn('train'), val: patientsIn('val'), heldout: patientsIn('heldout') });
    assert.deepEqual(r.clinicalSet.photos, {
      train: 3 * patientsIn('train'),
      val: 3 * patientsIn('val'),
      heldout: 3 * patientsIn('heldout'),
    });
    assert.ok(patientsIn('train') > 0 && patientsIn('val') > 0 && patientsIn('heldout') > 0, 'every part has patients');
    assert.equal(r.training.clinical, r.clinicalSet.photos.train);
    assert.equal(r.training.clinicalPatients, patientsIn('train'));
    assert.equal(r.test.clinical.n, r.clinicalSet.photos.heldout);
    assert.equal(r.test.clinical.patients, patientsIn('heldout'));
    // The dermoscopic side is the run's training images (one source here, without extra folders).
    assert.deepEqual(r.training.dermoscopicPerSource, { ham10000: r.training.dermoscopic });
    assert.deepEqual(r.test.external, {}, 'no external collections without --extra-data');
    // The lesion classifier scored on the held-out photos: NEV -> nv, BCC -> bcc, both present.
    assert.equal(r.test.clinicalLesions.n, r.test.clinical.n);
    assert.deepEqual(Object.keys(r.test.clinicalLesions.perClass).sort(), ['bcc', 'nv']);
    assert.equal(r.test.clinicalLesions.chance, 0.5);
    const lesions = r.test.clinicalLesions.perClass;
    assert.ok(Math.abs(r.test.clinicalLesions.balancedAccuracy - (lesions.bcc.recall + lesions.nv.recall) / 2) < 1e-9);
    assert.ok(r.clinicalThreshold > 0 && r.clinicalThreshold < 1);
    // The threshold flags at most 1% of the validation lesions: none of a handful.
    assert.ok(r.val.ham.n > 0 && r.val.ham.flagged <= Math.floor(0.01 * r.val.ham.n));
    assert.ok(r.threshold > 0 && r.threshold < 1);
    assert.equal(r.test.ood.n, 9);
    assert.equal(
      Object.values(r.test.hamPerClass).reduce((a, f) => a + f.n, 0),
      r.test.ham.n,
    );
    // Separable on purpose: every held-out non-dermoscopic image is flagged and named other, every
    // held-out clinical photo flagged and named clinical.
    assert.equal(r.test.ood.flagged, 9, JSON.stringify(r.test));
    assert.equal(r.test.ood.named, 9, JSON.stringify(r.test.ood));
    assert.equal(r.test.clinical.flagged, r.test.clinical.n, JSON.stringify(r.test.clinical));
    assert.equal(r.test.clinical.named, r.test.clinical.n, JSON.stringify(r.test.clinical));
    assert.deepEqual(Object.fromEntries(Object.entries(r.test.clinicalPerDiagnosis).map(([d, f]) => [d, f.n])), {
      BCC: [...Array(24).keys()].filter((p) => p % 2 && clinicalPartOf(`PAT_${p}`) === 'heldout').length * 3,
      NEV: [...Array(24).keys()].filter((p) => p % 2 === 0 && clinicalPartOf(`PAT_${p}`) === 'heldout').length * 3,
    });
    for (const dir of ['best', 'best-float16']) {
      const modelJson = JSON.parse(await readFile(join(run, dir, 'model.json'), 'utf8'));
      assert.equal(modelJson.modelTopology.config.output_layers.length, 2, `${dir} has the gate output`);
      assert.equal(modelJson.userDefinedMetadata.dermlens.dermoscopyThreshold, r.threshold);
      assert.equal(modelJson.userDefinedMetadata.dermlens.clinicalThreshold, r.clinicalThreshold);
      assert.equal(modelJson.modelTopology.config.output_layers[1][0], 'image_kind', `${dir}: the three-way gate`);
    }
    // Every report also scores the validation and test images with a round field of view; a run trained
    // without --field-of-view does not take such images as positives.
    assert.equal(r.val.hamFieldOfView?.n, r.val.ham.n);
    assert.equal(r.test.hamFieldOfView?.n, r.test.ham.n);
    assert.equal(r.training.dermoscopicWithFieldOfView, undefined);
    // Refitting replaces the gate instead of stacking a second one.
    const again = await fitGate({ runDir: run, oodDir: ood, clinicalDir: clinical, log: () => {} });
    assert.equal(again.threshold, r.threshold, 'deterministic');
    // A run trained with --field-of-view: each training image joins the positives a second time, masked.
    const configPath = join(run, 'config.json');
    const config = await readFile(configPath, 'utf8');
    try {
      await writeFile(configPath, JSON.stringify({ ...JSON.parse(config), fieldOfView: 0.3 }));
      const fov = await fitGate({ runDir: run, oodDir: ood, clinicalDir: clinical, log: () => {} });
      assert.equal(fov.training.dermoscopicWithFieldOfView, r.training.dermoscopic);
      assert.equal(fov.training.dermoscopic, 2 * r.training.dermoscopic);
      assert.equal(fov.training.notDermoscopic, r.training.notDermoscopic);
      assert.match(fov.method, /round field of view/);
    } finally {
      await writeFile(configPath, config);
      await fitGate({ runDir: run, oodDir: ood, clinicalDir: clinical, log: () => {} });
    }
    assert.equal(JSON.parse(await readFile(join(run, 'best', 'model.json'), 'utf8')).modelTopology.config.output_layers.length, 2);

    const cli = (...args: string[]) =>
      spawnSync(process.execPath, ['--import', 'tsx', 'bin/dermlens.js', ...args], { encoding: 'utf8', timeout: 120_000 });
    const out = cli(
      'classify',
      '--model',
      join(run, 'best'),
      '--backend',
      'cpu',
      '--json',
      data.samplePaths[0],
      join(ood, 'images/ood-3.png'),
      join(clinical, 'images/PAT_0_0_0.jpg'),
    );
    const rows = out.stdout
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
    assert.equal(rows.length, 3, out.stderr);
    assert.deepEqual(
      rows.map((row) => [row.imageKind, row.dermoscopic]),
      [
        ['dermoscopic', true],
        ['other', false],
        ['clinical', false],
      ],
    );
    for (const row of rows) {
      assert.ok(row.dermoscopyScore >= 0 && row.dermoscopyScore <= 1);
      assert.ok(row.clinicalScore >= 0 && row.clinicalScore <= 1);
      assert.ok(Math.abs(row.predictions.reduce((a: number, p: { probability: number }) => a + p.probability, 0) - 1) < 1e-5);
    }
    const table = cli(
      'classify',
      '--model',
      join(run, 'best'),
      '--backend',
      'cpu',
      join(ood, 'images/ood-3.png'),
      join(clinical, 'images/PAT_0_0_0.jpg'),
    );
    assert.match(
      table.stdout,
      /image kind: other \(P\(dermoscopic\) 0\.\d{3}, threshold 0\.\d{3}; P\(clinical \| not dermoscopic\) 0\.\d{3}/,
    );
    assert.match(table.stdout, /WARNING: this does not look like a dermoscopic image of a skin lesion/);
    assert.match(table.stdout, /image kind: clinical/);
    assert.match(table.stdout, /WARNING: this looks like an ordinary photo of skin, not a dermoscopic image/);

    const evaluated = cli('evaluate', '--model', join(run, 'best'), '--backend', 'cpu', '--data', data.dir, '--labels', data.metadataPath);
    assert.equal(evaluated.status, 0, evaluated.stderr);
    assert.match(
      evaluated.stdout,
      /image kind \(gate: P\(dermoscopic\) < 0\.\d+ is not dermoscopic, then clinical when P\(clinical \| not dermoscopic\) >= 0\.\d+\): dermoscopic \d+\.\d% \(\d+\), clinical \d+\.\d% \(\d+\), other \d+\.\d% \(\d+\) of \d+; flagged/,
    );
    assert.match(evaluated.stdout, /per class: akiec \d+\/\d+ not dermoscopic/);
    // With a dataset column, each collection's kinds.
    const [header, ...lines] = (await readFile(data.metadataPath, 'utf8')).trim().split('\n');
    const labels = join(root, 'labels-with-collections.csv');
    await writeFile(labels, [`${header},dataset`, ...lines.map((l, i) => `${l},${i % 2 ? 'ph2' : 'msk'}`)].join('\n') + '\n');
    const perCollection = cli('evaluate', '--model', join(run, 'best'), '--backend', 'cpu', '--data', data.dir, '--labels', labels);
    assert.equal(perCollection.status, 0, perCollection.stderr);
    const n = (name: string) => Number(new RegExp(`^  ${name}: dermoscopic .* of (\\d+)$`, 'm').exec(perCollection.stdout)?.[1]);
    const total = Number(/other \d+\.\d% \(\d+\) of (\d+); flagged/.exec(perCollection.stdout)?.[1]);
    assert.ok(total > 0 && n('msk') > 0 && n('ph2') > 0, perCollection.stdout);
    assert.equal(n('msk') + n('ph2'), total, 'every loaded image in one collection');
  });

  test('evaluate reads a clinical-photo folder: its patients-* collections, a balanced accuracy over the classes present with an interval drawn by patient', async () => {
    const patientsIn = (part: string) =>
      Array.from({ length: 24 }, (_, p) => `PAT_${p}`).filter((id) => clinicalPartOf(id) === part).length;
    const result = await evaluateModel({
      model: join(run, 'best'),
      imageDir: clinical,
      labelsPath: join(clinical, 'metadata.csv'),
      collections: ['patients-heldout'],
    });
    assert.equal(result.metrics.n, 3 * patientsIn('heldout'));
    assert.deepEqual(Object.keys(result.breakdown.byCollection), ['patients-heldout']);
    // Both diagnoses of the synthetic set (NEV, BCC) are present among the held-out patients.
    assert.deepEqual(result.presentClasses.classes, ['bcc', 'nv']);
    const recall = (code: 'bcc' | 'nv') => result.metrics.perClass[code].recall;
    assert.ok(Math.abs(result.presentClasses.balancedAccuracy - (recall('bcc') + recall('nv')) / 2) < 1e-9);
    const { low, high } = result.presentClasses.interval;
    assert.ok(low <= result.presentClasses.balancedAccuracy && result.presentClasses.balancedAccuracy <= high, `${low} <= ${high}`);
    const all = await evaluateModel({ model: join(run, 'best'), imageDir: clinical, labelsPath: join(clinical, 'metadata.csv') });
    assert.equal(all.metrics.n, 72);
    await assert.rejects(
      evaluateModel({ model: join(run, 'best'), imageDir: clinical, labelsPath: join(clinical, 'metadata.csv'), collections: ['msk'] }),
      /metadata\.csv: no image in collection msk \(its collections: patients-heldout, patients-train, patients-val\)/,
    );
  });

  test('a run that trained on the clinical photos (--extra-data): the gate takes none of them as dermoscopic, and they train the classifier by patient part', async () => {
    const withPhotos = join(root, 'run-with-photos');
    await train(
      {
        ...DEFAULT_TRAIN_CONFIG,
        dataDir: data.dir,
        extraData: [clinical],
        outDir: withPhotos,
        arch: 'compact',
        size: 16,
        epochs: 1,
        batch: 16,
        seed: 5,
        quantize: 'float16',
      },
      quiet,
    );
    // A phone-photo folder alone has no external collection to choose an epoch on: refused before training.
    await assert.rejects(
      train(
        { ...DEFAULT_TRAIN_CONFIG, dataDir: data.dir, extraData: [clinical], outDir: join(root, 'no-external'), selectOn: 'val+external' },
        quiet,
      ),
      /--select-on val\+external needs an external set, and .*clinical has none of its collections held out: give --external/,
    );
    const split = JSON.parse(await readFile(join(withPhotos, 'split.json'), 'utf8'));
    const trainedPatients = new Set(
      split.train.filter((id: string) => id.startsWith('PAT_')).map((id: string) => id.split('_').slice(0, 2).join('_')),
    );
    const expected = Array.from({ length: 24 }, (_, p) => `PAT_${p}`).filter((id) => clinicalPartOf(id) === 'train');
    assert.deepEqual([...trainedPatients].sort(), expected.sort(), 'exactly the training patients train the classifier');
    const r = await fitGate({ runDir: withPhotos, oodDir: ood, clinicalDir: clinical, log: () => {} });
    // Every readable HAM10000 training image (the synthetic set has one corrupt file).
    const hamTrain = split.train.filter((id: string) => !id.startsWith('PAT_') && id !== data.corruptId).length;
    assert.deepEqual(r.training.dermoscopicPerSource, { ham10000: hamTrain });
    assert.equal(r.training.clinical, 3 * expected.length);
    // The model card says how many phone photos the classifier learned from.
    const config = JSON.parse(await readFile(join(withPhotos, 'config.json'), 'utf8'));
    assert.deepEqual(await clinicalTrainingOf(config, split), {
      folder: 'clinical',
      photos: 3 * expected.length,
      patients: expected.length,
    });
    assert.equal(await clinicalTrainingOf(JSON.parse(await readFile(join(run, 'config.json'), 'utf8')), split), null);

    // --compare: the run without photos scored on the same held-out photos, beside this one, each with its own figures.
    const compared = await fitGate({ runDir: withPhotos, oodDir: ood, clinicalDir: clinical, compare: [run], log: () => {} });
    const [own, other] = compared.test.clinicalLesionsCompared!;
    assert.deepEqual([own.run, other.run], ['run-with-photos', basename(run)]);
    assert.deepEqual([own.photosTrained, other.photosTrained], [3 * expected.length, 0]);
    assert.deepEqual(own.lesions, compared.test.clinicalLesions, "the run's own row is its own score");
    assert.equal(other.lesions.n, own.lesions.n, 'the same held-out photos');
    const detailOf = async (dir: string) => JSON.parse(await readFile(join(dir, 'metrics-detail.json'), 'utf8'));
    assert.equal(own.valBalancedAccuracy, (await detailOf(withPhotos)).val.balancedAccuracy);
    assert.equal(other.valBalancedAccuracy, (await detailOf(run)).val.balancedAccuracy);
    // The other run's score is its own classifier's: computed again from its weights, it is the same.
    const alone = await fitGate({ runDir: run, oodDir: ood, clinicalDir: clinical, log: () => {} });
    assert.equal(other.lesions.balancedAccuracy, alone.test.clinicalLesions.balancedAccuracy);
    assert.ok(describeGate(compared).some((l) => l.startsWith(`  ${basename(run)} (0 phone photos trained on): held-out phone photos `)));
    await assert.rejects(
      fitGate({ runDir: withPhotos, oodDir: ood, clinicalDir: clinical, compare: [join(root, 'nowhere')], log: () => {} }),
      /--compare .*nowhere/,
    );
  });

  test('a non-square run (--size 32x24, field-of-view augmentation): the gate fits on its 4:3 inputs and the gated model loads at that shape', async () => {
    const wide = join(root, 'run-32x24');
    await train(
      {
        ...DEFAULT_TRAIN_CONFIG,
        dataDir: data.dir,
        outDir: wide,
        arch: 'compact',
        size: '32x24',
        epochs: 2,
        batch: 16,
        seed: 5,
        fieldOfView: 0.5,
      },
      quiet,
    );
    const tensors = tf.memory().numTensors;
    const report = await fitGate({ runDir: wide, oodDir: ood, clinicalDir: clinical, log: () => {} });
    assert.equal(tf.memory().numTensors, tensors, 'no tensor leaks');
    assert.ok(report.threshold > 0 && report.threshold < 1);
    assert.ok(
      report.val.hamFieldOfView && report.val.hamFieldOfView.n === report.val.ham.n,
      'the centred field of view is scored at 32x24',
    );
    assert.ok(report.training.dermoscopicWithFieldOfView, 'and drawn for the training images');
    const classifier = await load(fileLoadHandler(join(wide, 'best', 'model.json')));
    assert.deepEqual(classifier.inputShape, { width: 32, height: 24 });
    assert.ok(classifier.hasDermoscopyGate);
    const [assessed] = await classifier.assessInputs([new Float32Array(24 * 32 * 3).fill(0.5)]);
    assert.ok(assessed.dermoscopy, 'the verdict comes from the same pass');
    classifier.dispose();

    // --compare a square run: the same held-out photos, prepared at the square run's own size, give that
    // run's own score (gate.json of its own fit, written by the test above).
    const compared = await fitGate({ runDir: wide, oodDir: ood, clinicalDir: clinical, compare: [run], log: () => {} });
    const [own, other] = compared.test.clinicalLesionsCompared!;
    assert.deepEqual([own.run, other.run], ['run-32x24', basename(run)]);
    const squareOwn = (JSON.parse(await readFile(join(run, GATE_FILE), 'utf8')) as GateReport).test.clinicalLesions;
    assert.equal(other.lesions.n, own.lesions.n, 'the same held-out photos');
    assert.equal(other.lesions.n, squareOwn.n);
    assert.equal(other.lesions.balancedAccuracy, squareOwn.balancedAccuracy, "the square run's score at its own size");
  });

  test('a missing or malformed manifest, or a missing clinical folder, is named with the fix', async () => {
    await assert.rejects(
      fitGate({ runDir: run, oodDir: ood, clinicalDir: join(root, 'no-photos'), log: () => {} }),
      /no-photos\/metadata\.csv not found: --clinical needs a folder of clinical skin photos with a metadata\.csv \(patient_id, img_id\)/,
    );
    await assert.rejects(
      fitGate({ runDir: run, oodDir: join(root, 'nowhere'), clinicalDir: clinical, log: () => {} }),
      /manifest\.csv not found: build the set with/,
    );
    const bad = join(root, 'bad-ood');
    await mkdir(bad, { recursive: true });
    await writeFile(join(bad, 'manifest.csv'), 'file,source,split\nimages/a.png,x,sometimes\n');
    await assert.rejects(
      fitGate({ runDir: run, oodDir: bad, clinicalDir: clinical, log: () => {} }),
      /manifest\.csv:2: needs a file, a source and a split \(train \| val \| heldout\); got split "sometimes"/,
    );
  });
});
