// dermlens fit-gate end to end on synthetic data (cpu backend): a tiny finished run, a tiny
// non-dermoscopic set in build-ood-set's layout, then the gate in the run's models, gate.json with the
// threshold chosen on validation, and the CLI's classify --json / evaluate reporting it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import '@tensorflow/tfjs-backend-cpu';
import { tf } from '../../core/tf.ts';
import { initBackend } from '../../trainer/backends/select.ts';
import { train } from '../../trainer/train/train.ts';
import { DEFAULT_TRAIN_CONFIG } from '../../trainer/run/config.ts';
import { fitGate, type GateReport } from '../../trainer/train/fit-gate.ts';
import { GATE_FILE } from '../../trainer/run/layout.ts';
import { makeRng } from '../../trainer/data/rng.ts';
import { writeSyntheticHam, type SyntheticHam } from './helpers/synthetic-ham.ts';

let root: string;
let data: SyntheticHam;
let run: string;
let ood: string;
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
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test('fits the gate, writes it into both models and gate.json, and the CLI reports it', async () => {
    const tensors = tf.memory().numTensors;
    const report = await fitGate({ runDir: run, oodDir: ood, log: () => {} });
    assert.equal(tf.memory().numTensors, tensors, 'no tensor leaks');
    assert.deepEqual(JSON.parse(await readFile(join(run, GATE_FILE), 'utf8')), JSON.parse(JSON.stringify(report)));
    const r: GateReport = report;
    assert.equal(r.training.notDermoscopic, 18);
    assert.deepEqual(r.training.notDermoscopicPerSource, { gradient: 9, noise: 9 });
    // The threshold flags at most 1% of the validation lesions: none of a handful.
    assert.ok(r.val.ham.n > 0 && r.val.ham.flagged <= Math.floor(0.01 * r.val.ham.n));
    assert.ok(r.threshold > 0 && r.threshold < 1);
    assert.equal(r.test.ood.n, 9);
    assert.equal(
      Object.values(r.test.hamPerClass).reduce((a, f) => a + f.n, 0),
      r.test.ham.n,
    );
    // Separable on purpose: every held-out non-dermoscopic image is flagged.
    assert.equal(r.test.ood.flagged, 9, JSON.stringify(r.test));
    for (const dir of ['best', 'best-float16']) {
      const modelJson = JSON.parse(await readFile(join(run, dir, 'model.json'), 'utf8'));
      assert.equal(modelJson.modelTopology.config.output_layers.length, 2, `${dir} has the gate output`);
      assert.equal(modelJson.userDefinedMetadata.dermlens.dermoscopyThreshold, r.threshold);
    }
    // Every report also scores the validation and test images with a round field of view; a run trained
    // without --field-of-view does not take such images as positives.
    assert.equal(r.val.hamFieldOfView?.n, r.val.ham.n);
    assert.equal(r.test.hamFieldOfView?.n, r.test.ham.n);
    assert.equal(r.training.dermoscopicWithFieldOfView, undefined);
    // Refitting replaces the gate instead of stacking a second one.
    const again = await fitGate({ runDir: run, oodDir: ood, log: () => {} });
    assert.equal(again.threshold, r.threshold, 'deterministic');
    // A run trained with --field-of-view: each training image joins the positives a second time, masked.
    const configPath = join(run, 'config.json');
    const config = await readFile(configPath, 'utf8');
    try {
      await writeFile(configPath, JSON.stringify({ ...JSON.parse(config), fieldOfView: 0.3 }));
      const fov = await fitGate({ runDir: run, oodDir: ood, log: () => {} });
      assert.equal(fov.training.dermoscopicWithFieldOfView, r.training.dermoscopic);
      assert.equal(fov.training.dermoscopic, 2 * r.training.dermoscopic);
      assert.equal(fov.training.notDermoscopic, r.training.notDermoscopic);
      assert.match(fov.method, /round field of view/);
    } finally {
      await writeFile(configPath, config);
      await fitGate({ runDir: run, oodDir: ood, log: () => {} });
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
    );
    const rows = out.stdout
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
    assert.equal(rows.length, 2, out.stderr);
    assert.equal(rows[0].dermoscopic, true);
    assert.equal(rows[1].dermoscopic, false);
    for (const row of rows) {
      assert.ok(row.dermoscopyScore >= 0 && row.dermoscopyScore <= 1);
      assert.ok(Math.abs(row.predictions.reduce((a: number, p: { probability: number }) => a + p.probability, 0) - 1) < 1e-5);
    }
    const table = cli('classify', '--model', join(run, 'best'), '--backend', 'cpu', join(ood, 'images/ood-3.png'));
    assert.match(table.stdout, /WARNING: this does not look like a dermoscopic image of a skin lesion/);

    const evaluated = cli('evaluate', '--model', join(run, 'best'), '--backend', 'cpu', '--data', data.dir, '--labels', data.metadataPath);
    assert.equal(evaluated.status, 0, evaluated.stderr);
    assert.match(
      evaluated.stdout,
      /dermoscopy gate \(P\(dermoscopic\) < 0\.\d+\): flagged \d+\.\d% \(\d+\/\d+\) as not a dermoscopic image; per class: akiec/,
    );
  });

  test('a missing or malformed manifest is named with the fix', async () => {
    await assert.rejects(
      fitGate({ runDir: run, oodDir: join(root, 'nowhere'), log: () => {} }),
      /manifest\.csv not found: build the set with/,
    );
    const bad = join(root, 'bad-ood');
    await mkdir(bad, { recursive: true });
    await writeFile(join(bad, 'manifest.csv'), 'file,source,split\nimages/a.png,x,sometimes\n');
    await assert.rejects(
      fitGate({ runDir: run, oodDir: bad, log: () => {} }),
      /manifest\.csv:2: needs a file, a source and a split \(train \| val \| heldout\); got split "sometimes"/,
    );
  });
});
