// End to end through the code the CLI runs: a synthetic HAM10000-layout dataset, a tiny training run on
// the pure-JS cpu backend (so CI needs no tfjs-node), checkpoints, an interrupted + resumed run that
// must match an uninterrupted one, evaluate --json, export/reload (float32, float16, uint8), classify,
// and the CLI's error handling as a subprocess.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cp, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '@tensorflow/tfjs-backend-cpu';
import { tf } from '../../core/tf.ts';
import { load } from '../../core/classifier.ts';
import { IMAGE_REFUSALS } from '../../core/image-check.ts';
import { buildModel } from '../../core/models.ts';
import { PREPROCESS_VERSION } from '../../core/preprocess.ts';
import { parseModelCard } from '../../core/model-card.ts';
import { initBackend } from '../../trainer/backends/select.ts';
import { findCheckpoint, restoreCheckpoint } from '../../trainer/train/checkpoint.ts';
import { main } from '../../trainer/cli/commands.ts';
import { loadDataset } from '../../trainer/data/dataset.ts';
import { exportModel } from '../../trainer/model/export.ts';
import { dermlensMetadata } from '../../core/model-metadata.ts';
import { meanNll } from '../../trainer/evaluate/calibrate.ts';
import { parseHamMetadata } from '../../trainer/data/metadata.ts';
import { fileLoadHandler } from '../../trainer/run/model-files.ts';
import { predictDataset } from '../../trainer/evaluate/predict.ts';
import { loadSplit, splitIndices } from '../../trainer/data/split.ts';
import { train, type TrainResult } from '../../trainer/train/train.ts';
import { DEFAULT_TRAIN_CONFIG, type TrainConfig } from '../../trainer/run/config.ts';
import { buildEnsemble } from '../../trainer/evaluate/ensemble.ts';
import { refitConfig } from '../../trainer/train/refit.ts';
import { writeSyntheticHam, type SyntheticHam } from './helpers/synthetic-ham.ts';

const METRIC_KEYS = ['n', 'accuracy', 'balancedAccuracy', 'macroF1', 'macroAuc', 'ece', 'perClass', 'confusion', 'classes'];

let root: string;
let data: SyntheticHam;
const logs: string[] = [];
const quiet = {
  progress: 'plain' as const,
  log: (line: string) => {
    logs.push(line);
  },
};

function tinyConfig(outDir: string, overrides: Partial<TrainConfig> = {}): TrainConfig {
  return { ...DEFAULT_TRAIN_CONFIG, dataDir: data.dir, outDir, arch: 'seed', size: 16, epochs: 3, batch: 16, seed: 7, ...overrides };
}

/** Model weights of a run's checkpoint (or of its weight average), in getWeights() order, then the optimizer's. */
async function checkpointWeights(runDir: string, config: TrainConfig, averaged = false): Promise<Float32Array[]> {
  const dir = await findCheckpoint(runDir);
  assert.ok(dir, `no checkpoint in ${runDir}`);
  const model = buildModel(config.arch, { inputSize: config.size, seed: config.seed });
  const average = averaged ? buildModel(config.arch, { inputSize: config.size, seed: config.seed }) : undefined;
  const optimizer = tf.train.adam(config.lr);
  await restoreCheckpoint(dir, model, optimizer, average);
  const values = (average ?? model)
    .getWeights()
    .map((w) => w.dataSync() as Float32Array)
    .map((a) => a.slice());
  average?.dispose();
  const moments = await optimizer.getWeights();
  const optimizerValues = moments.map((w) => (w.tensor.dataSync() as Float32Array).slice());
  moments[0].tensor.dispose();
  model.dispose();
  optimizer.dispose();
  return [...values, ...optimizerValues];
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

describe('dermlens train end to end (cpu backend)', { timeout: 900_000 }, () => {
  let runA: string;
  let resultA: TrainResult;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'dermlens-e2e-'));
    data = await writeSyntheticHam(join(root, 'data'), { perClass: 10 });
    await initBackend('cpu', { allowCpuForTraining: true, log: null });
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test('trains: loss goes down, files are written, no tensors leak, the corrupt image is skipped', async () => {
    runA = join(root, 'runA');
    const tensorsBefore = tf.memory().numTensors;
    resultA = await train(tinyConfig(runA, { tta: true, quantize: 'float16' }), quiet);
    assert.equal(tf.memory().numTensors, tensorsBefore, 'train() leaves no tensors behind');

    assert.equal(resultA.completed, true);
    assert.equal(resultA.history.length, 3);
    const losses = resultA.history.map((h) => h.loss);
    assert.ok(losses[2] < losses[0] * 0.7, `training loss should fall clearly: ${losses.join(', ')}`);
    // Per-epoch tensor growth is printed; after the first epoch (Adam's slots) it must be zero.
    const growth = logs.filter((l) => /^epoch \d+\/3 .*tensors/.test(l)).map((l) => Number(/tensors ([+-]\d+)/.exec(l)![1]));
    assert.equal(growth.length, 3);
    assert.deepEqual(growth.slice(1), [0, 0], `tensor count grew between epochs: ${growth.join(', ')}`);
    assert.ok(
      logs.some((l) => l.includes(data.corruptId) && /cannot decode/.test(l)),
      'corrupt image reported',
    );

    for (const file of [
      'config.json',
      'split.json',
      'history.json',
      'metrics.json',
      'metrics-detail.json',
      'predictions.json',
      'report.html',
      'best/model.json',
      'checkpoint/state.json',
      'checkpoint/model.bin',
      'checkpoint/optimizer.bin',
    ]) {
      assert.ok((await stat(join(runA, file))).size > 0, `${file} written`);
    }
    const metrics = JSON.parse(await readFile(join(runA, 'metrics.json'), 'utf8'));
    assert.deepEqual(Object.keys(metrics), METRIC_KEYS);
    assert.equal(metrics.n, JSON.parse(await readFile(join(runA, 'split.json'), 'utf8')).test.length);
    const history = JSON.parse(await readFile(join(runA, 'history.json'), 'utf8'));
    assert.deepEqual(
      history.map((h: { epoch: number }) => h.epoch),
      [1, 2, 3],
    );

    const modelJson = JSON.parse(await readFile(join(runA, 'best/model.json'), 'utf8'));
    const meta = modelJson.userDefinedMetadata.dermlens;
    assert.deepEqual(Object.keys(meta).sort(), [
      'arch',
      'classes',
      'clinicalThreshold',
      'dermoscopyThreshold',
      'inputSize',
      'melanomaThreshold',
      'preprocess',
      'temperature',
      'tta',
      'version',
    ]);
    // The melanoma alert threshold is chosen on val (when val has melanomas) and its val/test effect recorded.
    const op = resultA.final!.operatingPoint;
    assert.equal(meta.melanomaThreshold, op ? op.melanomaThreshold : null);
    if (op) {
      assert.ok(op.melanomaThreshold > 0 && op.melanomaThreshold <= 1);
      assert.ok(op.val.recall >= op.targetValRecall, `val melanoma recall ${op.val.recall} at the chosen threshold`);
    }
    assert.equal(meta.arch, 'seed');
    assert.equal(meta.inputSize, 16);
    assert.equal(meta.preprocess, PREPROCESS_VERSION);
    assert.ok(meta.temperature > 0 && meta.temperature === resultA.final!.temperature);
    assert.ok(['none', 'flip'].includes(meta.tta));
    assert.ok(resultA.final!.variants['test/flip'] && resultA.final!.variants['test/none'], 'both TTA modes evaluated');

    const report = await readFile(join(runA, 'report.html'), 'utf8');
    assert.match(report, /Chart\.register|new Chart\(/);
    assert.ok(report.length > 150_000, 'Chart.js is inlined');
    assert.doesNotMatch(report, /<script[^>]+src=/, 'no external scripts');
    const reportData = JSON.parse(/<script id="report-data" type="application\/json">(.*?)<\/script>/s.exec(report)![1]);
    assert.equal(reportData.epochs.length, 3);
    assert.equal(reportData.valBalancedAccuracyRaw, null, 'no raw-weights line without --ema');
    assert.ok(reportData.roc.test.length >= 2 && reportData.roc.test[0].fpr.at(-1) === 1);
  });

  test('an interrupted run resumes to the same weights as an uninterrupted one', async () => {
    const runB = join(root, 'runB');
    const config = tinyConfig(runB, { tta: true });
    const first = await train(config, { ...quiet, stopAfterEpochs: 2 });
    assert.equal(first.completed, false);
    assert.equal(first.epochsCompleted, 2);
    assert.equal((await readdir(runB)).includes('metrics.json'), false);

    await assert.rejects(train(config, quiet), /already holds a training run/);
    await assert.rejects(train({ ...config, lr: 0.01 }, { ...quiet, resume: true }), /cannot resume .*lr: saved 0\.001, requested 0\.01/);

    // Settings outside the trajectory may change on resume; config.json then records the new ones.
    const resumed = await train({ ...config, patience: 9 }, { ...quiet, resume: true });
    assert.equal(resumed.completed, true);
    assert.equal(JSON.parse(await readFile(join(runB, 'config.json'), 'utf8')).patience, 9);
    assert.ok(logs.some((l) => /resumed from .* after epoch 2/.test(l)));
    assert.deepEqual(
      JSON.parse(await readFile(join(runB, 'split.json'), 'utf8')).test,
      JSON.parse(await readFile(join(runA, 'split.json'), 'utf8')).test,
    );

    const a = await checkpointWeights(runA, config);
    const b = await checkpointWeights(runB, config);
    assert.equal(a.length, b.length);
    a.forEach((w, i) => assert.ok(maxAbsDiff(w, b[i]) < 1e-5, `weight ${i} differs by ${maxAbsDiff(w, b[i])}`));
    resumed.history.forEach((h, i) => assert.ok(Math.abs(h.loss - resultA.history[i].loss) < 1e-5, `epoch ${i + 1} loss`));
    assert.deepEqual(resumed.final!.test.confusion, resultA.final!.test.confusion);
  });

  test('--ema: the trained weights follow the same path, the average is what is validated, and it resumes exactly', async () => {
    const config = (dir: string) => tinyConfig(dir, { tta: true, ema: 0.9 });
    const runE = join(root, 'runE');
    const full = await train(config(runE), quiet);
    // Averaging only reads the trained weights: losses and the raw weights' scores are runA's, bit for bit.
    full.history.forEach((h, i) => {
      assert.equal(h.loss, resultA.history[i].loss, `epoch ${i + 1} loss`);
      assert.equal(h.valBalancedAccuracyRaw, resultA.history[i].valBalancedAccuracy, `epoch ${i + 1} raw val balanced accuracy`);
    });

    const report = await readFile(join(runE, 'report.html'), 'utf8');
    const reportData = JSON.parse(/<script id="report-data" type="application\/json">(.*?)<\/script>/s.exec(report)![1]);
    assert.deepEqual(
      reportData.valBalancedAccuracyRaw,
      full.history.map((h) => h.valBalancedAccuracyRaw),
      "the report draws the raw weights' line",
    );

    // The recorded val scores are the average's: recompute the last epoch's val loss from the checkpoint.
    const trained = buildModel('seed', { inputSize: 16, seed: 7 });
    const average = buildModel('seed', { inputSize: 16, seed: 7 });
    const optimizer = tf.train.adam();
    await restoreCheckpoint((await findCheckpoint(runE))!, trained, optimizer, average);
    optimizer.dispose();
    const items = parseHamMetadata(await readFile(data.metadataPath, 'utf8'), data.metadataPath);
    const ds = await loadDataset({ images: items, imageDir: data.dir, size: 16 });
    const valIdx = splitIndices(ds.items, await loadSplit(join(runE, 'split.json'))).val;
    const valLabels = valIdx.map((i) => ds.items[i].label);
    const nll = async (m: tf.LayersModel) => meanNll(valLabels, await predictDataset(m, ds, valIdx));
    const last = full.history.at(-1)!;
    assert.ok(Math.abs((await nll(average)) - last.valLoss!) < 1e-6, "val loss is the average's");
    assert.ok(Math.abs((await nll(trained)) - last.valLoss!) > 1e-4, "and not the trained weights'");
    trained.dispose();
    average.dispose();

    // Killed after one epoch and resumed: the same average as the uninterrupted run.
    const runF = join(root, 'runF');
    await train(config(runF), { ...quiet, stopAfterEpochs: 1 });
    await assert.rejects(train({ ...config(runF), ema: 0 }, { ...quiet, resume: true }), /cannot resume .*ema: saved 0\.9, requested 0/);
    await train(config(runF), { ...quiet, resume: true });
    const [e, f] = await Promise.all([checkpointWeights(runE, config(runE), true), checkpointWeights(runF, config(runF), true)]);
    assert.equal(e.length, f.length);
    e.forEach((w, i) => assert.ok(maxAbsDiff(w, f[i]) < 1e-6, `averaged weight ${i} differs by ${maxAbsDiff(w, f[i])}`));
  });

  test('ship: the model card is written from the run files, lists the candidates, and refuses a run that loses on validation', async () => {
    const ship = (...args: string[]) =>
      spawnSync(process.execPath, ['bin/dermlens.js', 'ship', ...args], { encoding: 'utf8', timeout: 60_000 });
    /** npm run bench:infer on wasm, short: these models, alternating, `repeat` times, as JSON rows. */
    const benchInfer = (models: string[], repeat: number) =>
      spawnSync(
        process.execPath,
        [
          '--import',
          'tsx',
          'scripts/bench-infer.ts',
          ...models.flatMap((m) => ['--model', m]),
          ...['--backends', 'wasm', '--runs', '5', '--warmup', '20', '--repeat', String(repeat), '--json'],
        ],
        { encoding: 'utf8', timeout: 120_000 },
      );
    const runB = join(root, 'runB');
    const out = join(root, 'shipped');
    const ok = ship('--run', runA, '--baseline', runB, '--candidate', runB, '--out', out);
    assert.equal(ok.status, 0, ok.stderr);
    const card = parseModelCard(JSON.parse(await readFile(join(out, 'model-card.json'), 'utf8')));
    const cardJson = JSON.parse(await readFile(join(out, 'model-card.json'), 'utf8'));
    assert.equal(card.inputSize, 16);
    assert.deepEqual(cardJson.metrics.test.confusion, resultA.final!.test.confusion, 'test numbers come from the run');
    assert.deepEqual(
      cardJson.candidates.runs.map((c: { run: string }) => c.run),
      ['runA', 'runB'],
    );
    assert.match(cardJson.testIntervals.method, /bootstrap over the \d+ test lesions/, 'whole lesions are resampled');
    assert.deepEqual(
      JSON.parse(await readFile(join(out, 'model.json'), 'utf8')),
      JSON.parse(await readFile(join(runA, 'best/model.json'), 'utf8')),
    );
    const md = await readFile(join(out, 'MODEL_CARD.md'), 'utf8');
    for (const section of [
      '## Intended use',
      '### Targets',
      '### Confusion matrix',
      '### Runs considered for shipping',
      '## Known limitations',
      '## Reproduce',
    ]) {
      assert.ok(md.includes(section), `MODEL_CARD.md has ${section}`);
    }

    // scripts/check-field-of-view.ts on the test side goes into the card, but only for the weights that ship.
    const checkFov = (model: string) =>
      spawnSync(
        process.execPath,
        ['--import', 'tsx', 'scripts/check-field-of-view.ts', '--model', model, '--run', runA, '--side', 'test'],
        {
          encoding: 'utf8',
          timeout: 120_000,
        },
      );
    const wrongModel = checkFov(join(runB, 'best'));
    assert.equal(wrongModel.status, 0, wrongModel.stderr);
    const staleFov = ship('--run', runA, '--baseline', runB, '--out', join(root, 'not-shipped'));
    assert.equal(staleFov.status, 1);
    assert.match(staleFov.stderr, /field-of-view-test\.json scored .*runB.*, not the shipped .*run scripts\/check-field-of-view\.ts/);
    const fovCheck = checkFov(join(runA, 'best'));
    assert.equal(fovCheck.status, 0, fovCheck.stderr);
    assert.match(fovCheck.stdout, /\| circle 1x the height \| \d\.\d{3} \|/);
    assert.equal(ship('--run', runA, '--baseline', runB, '--out', out).status, 0);
    const fovCard = JSON.parse(await readFile(join(out, 'model-card.json'), 'utf8')).fieldOfViewCheck;
    assert.deepEqual(
      fovCard.rows.map((r: { fieldOfView: string }) => r.fieldOfView),
      ['none', 'circle 1.25x the height', 'circle 1x the height', 'circle 0.85x the height'],
    );
    assert.equal(fovCard.images, resultA.final!.test.n);
    // The unmasked row is the run's own test figure (up to rounding: the script may run on another backend).
    assert.ok(
      Math.abs(fovCard.rows[0].balancedAccuracy - resultA.final!.test.balancedAccuracy) < 0.02,
      'unmasked row = the run test figure',
    );
    assert.match(await readFile(join(out, 'MODEL_CARD.md'), 'utf8'), /## Images with a round field of view/);
    // It scored best/; the float16 copy shipped below would be refused with it in place.
    await rm(join(runA, 'field-of-view-test.json'));

    // --latency: bench:infer's repeated wasm runs on this run's model give the classify-time target row.
    const bench = benchInfer([join(runA, 'best')], 3);
    assert.equal(bench.status, 0, bench.stderr);
    const benchFile = join(root, 'bench-infer.json');
    await writeFile(benchFile, bench.stdout);
    const rows = JSON.parse(bench.stdout) as Array<{ backend: string; medianMs: number }>;
    assert.equal(rows.length, 3, 'one row per repeat');
    const timed = ship('--run', runA, '--baseline', runB, '--out', out, '--latency', benchFile);
    assert.equal(timed.status, 0, timed.stderr);
    const latency = JSON.parse(await readFile(join(out, 'model-card.json'), 'utf8')).latency;
    assert.deepEqual(
      latency.runMediansMs,
      rows.map((r) => r.medianMs).sort((x, y) => x - y),
    );
    assert.equal(latency.medianMs, latency.runMediansMs[1]);
    assert.match(
      await readFile(join(out, 'MODEL_CARD.md'), 'utf8'),
      /\| Single-image classify .*no reference model measured\) \| yes \| \d+\.\d ms \(median of 3 bench:infer runs/,
    );
    const otherModel = ship('--run', runB, '--baseline', runB, '--out', join(root, 'not-shipped'), '--latency', benchFile);
    assert.equal(otherModel.status, 1);
    assert.match(otherModel.stderr, /^dermlens: .* has no wasm rows for .*runB/);

    // Two models measured alternately in one bench:infer run: the target is the ratio to the reference model.
    const pair = benchInfer([join(runA, 'best'), join(runB, 'best')], 2);
    assert.equal(pair.status, 0, pair.stderr);
    const pairRows = JSON.parse(pair.stdout) as Array<{ model: string; medianMs: number }>;
    assert.deepEqual(
      pairRows.map((r) => r.model.includes('runA')),
      [true, false, true, false],
      'models alternate within each repeat',
    );
    const pairFile = join(root, 'bench-pair.json');
    await writeFile(pairFile, pair.stdout);
    assert.equal(ship('--run', runA, '--baseline', runB, '--out', out, '--latency', pairFile).status, 0);
    const paired = JSON.parse(await readFile(join(out, 'model-card.json'), 'utf8')).latency;
    const medianOf = (rs: typeof pairRows) => (rs[0].medianMs + rs[1].medianMs) / 2;
    const [a, b] = [pairRows.filter((r) => r.model.includes('runA')), pairRows.filter((r) => !r.model.includes('runA'))];
    assert.ok(Math.abs(paired.ratioToReference - medianOf(a) / medianOf(b)) < 1e-9);
    assert.match(paired.reference.model, /runB/);
    assert.match(
      await readFile(join(out, 'MODEL_CARD.md'), 'utf8'),
      /\| Single-image classify .*<= 4x the reference model \(.*runB.*\), measured in the same run \| (yes|\*\*no\*\*) \| \d+\.\d\dx: /,
    );

    // The model shipped before gets a row on the same test split; without --baseline its card's baseline row is kept.
    const next = join(root, 'shipped-next');
    await cp(out, next, { recursive: true });
    const before = JSON.parse(await readFile(join(next, 'model-card.json'), 'utf8'));
    const replaced = ship('--run', runB, '--out', next);
    assert.equal(replaced.status, 0, replaced.stderr);
    const after = JSON.parse(await readFile(join(next, 'model-card.json'), 'utf8'));
    assert.equal(after.previousModel.name, before.name);
    assert.deepEqual(after.previousModel.test.confusion, before.evaluation.confusion);
    assert.deepEqual(after.baseline, before.baseline);
    assert.match(await readFile(join(next, 'MODEL_CARD.md'), 'utf8'), /\| previously shipped: /);
    // Shipping the same run again keeps the row of the model before it.
    assert.equal(ship('--run', runB, '--out', next).status, 0);
    assert.deepEqual(JSON.parse(await readFile(join(next, 'model-card.json'), 'utf8')).previousModel, after.previousModel);

    // --weights float16 ships the evaluated float16 copy with its own test numbers.
    const half = join(root, 'shipped-float16');
    const f16 = ship('--run', runA, '--baseline', runB, '--weights', 'float16', '--out', half);
    assert.equal(f16.status, 0, f16.stderr);
    const halfCard = JSON.parse(await readFile(join(half, 'model-card.json'), 'utf8'));
    const detailA = JSON.parse(await readFile(join(runA, 'metrics-detail.json'), 'utf8'));
    assert.equal(halfCard.weightsDtype, 'float16');
    assert.deepEqual(halfCard.evaluation.confusion, detailA.quantized.test.confusion);
    assert.deepEqual(halfCard.melanomaOperatingPoint.test, detailA.quantized.operatingPointTest);
    assert.deepEqual(
      JSON.parse(await readFile(join(half, 'model.json'), 'utf8')),
      JSON.parse(await readFile(join(runA, 'best-float16/model.json'), 'utf8')),
    );
    const shard = (await readdir(half)).filter((f) => f.endsWith('.bin'));
    assert.equal(halfCard.weightBytes, (await stat(join(half, shard[0]))).size, "weight bytes are the shipped shard's");
    assert.equal(
      ship('--run', runB, '--baseline', runB, '--weights', 'float16', '--out', join(root, 'not-shipped')).status,
      1,
      'no float16 copy: refused',
    );

    // A candidate that is better on validation wins: shipping the other one is refused, with a message.
    const runC = join(root, 'runC');
    await cp(runB, runC, { recursive: true });
    const detail = JSON.parse(await readFile(join(runC, 'metrics-detail.json'), 'utf8'));
    detail.val.balancedAccuracy = resultA.final!.val.balancedAccuracy + 0.01;
    await writeFile(join(runC, 'metrics-detail.json'), JSON.stringify(detail));
    const refused = ship('--run', runA, '--baseline', runB, '--candidate', runC, '--out', join(root, 'not-shipped'));
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /^dermlens: runC has the higher validation balanced accuracy/);
    assert.doesNotMatch(refused.stderr, /\n\s+at /, 'no stack trace');
    assert.equal((await readdir(root)).includes('not-shipped'), false, 'nothing written');
    // --despite ships it anyway and the card says so, with the reason; it is refused where nothing needs overriding.
    const despite = join(root, 'shipped-despite');
    const overridden = ship('--run', runA, '--baseline', runB, '--candidate', runC, '--out', despite, '--despite', 'the reason given');
    assert.equal(overridden.status, 0, overridden.stderr);
    const overriddenCard = JSON.parse(await readFile(join(despite, 'model-card.json'), 'utf8'));
    assert.deepEqual(overriddenCard.candidates.shippedDespite, { leader: 'runC', reason: 'the reason given' });
    assert.match(
      await readFile(join(despite, 'MODEL_CARD.md'), 'utf8'),
      /not the one with the highest validation balanced accuracy \(runC is\).*\n.*the reason given/,
    );
    const needless = ship('--run', runA, '--baseline', runB, '--candidate', runB, '--out', despite, '--despite', 'no reason');
    assert.equal(needless.status, 1);
    assert.match(needless.stderr, /--despite is for shipping a run that a --candidate leads/);

    // Same counts but other images on each side is a different split.
    const split = JSON.parse(await readFile(join(runC, 'split.json'), 'utf8'));
    [split.val[0], split.test[0]] = [split.test[0], split.val[0]];
    await writeFile(join(runC, 'split.json'), JSON.stringify(split));
    const otherSplit = ship('--run', runA, '--baseline', runC, '--out', join(root, 'not-shipped'));
    assert.equal(otherSplit.status, 1);
    assert.match(otherSplit.stderr, /different split/);
  });

  test('ensemble: two compact runs on one --split-seed merge into a run that averages them, reports and ships', async () => {
    const m1 = join(root, 'member1');
    const m2 = join(root, 'member2');
    const compact = { arch: 'compact', epochs: 2 } as const;
    await train(tinyConfig(m1, compact), quiet);
    await train(tinyConfig(m2, { ...compact, seed: 8, splitSeed: 7 }), quiet);
    const splitOf = async (dir: string) => JSON.parse(await readFile(join(dir, 'split.json'), 'utf8'));
    const [split1, split2] = [await splitOf(m1), await splitOf(m2)];
    assert.deepEqual(
      [split2.seed, split2.train, split2.val, split2.test],
      [split1.seed, split1.train, split1.val, split1.test],
      '--split-seed keeps the split',
    );

    const ens = join(root, 'ensemble');
    const tensorsBefore = tf.memory().numTensors;
    assert.equal(await main(['ensemble', '--member', m1, '--member', m2, '--out', ens, '--tta', '--backend', 'cpu', '--no-cache']), 0);
    assert.equal(tf.memory().numTensors, tensorsBefore, 'the ensemble command leaves no tensors behind');
    for (const file of [
      'config.json',
      'split.json',
      'metrics.json',
      'metrics-detail.json',
      'predictions.json',
      'report.html',
      'provenance.json',
      'best/model.json',
    ]) {
      assert.ok((await stat(join(ens, file))).size > 0, `${file} written`);
    }
    const config = JSON.parse(await readFile(join(ens, 'config.json'), 'utf8'));
    assert.deepEqual([config.kind, config.members, config.arch, config.size, config.seed], ['ensemble', [m1, m2], 'compact', 16, 7]);

    // The shipped graph is the mean of the members' networks (different seeds: they really differ).
    const loadBest = (dir: string) => tf.loadLayersModel(fileLoadHandler(join(dir, 'best', 'model.json')));
    const [a, b, merged] = [await loadBest(m1), await loadBest(m2), await loadBest(ens)];
    const x = tf.randomUniform([4, 16, 16, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    const [pa, pb, pm] = [a, b, merged].map((m) => (m.predict(x) as tf.Tensor).arraySync() as number[][]);
    assert.ok(maxAbsDiff(pa.flat(), pb.flat()) > 1e-4, 'the members differ');
    assert.ok(
      maxAbsDiff(
        pm.flat(),
        pa.flat().map((v, i) => (v + pb.flat()[i]) / 2),
      ) < 1e-5,
      'the ensemble averages the members',
    );
    const meta = (merged.getUserDefinedMetadata() as { dermlens: { arch: string; temperature: number } }).dermlens;
    assert.equal(meta.arch, 'ensemble of 2 compact');
    const detail = JSON.parse(await readFile(join(ens, 'metrics-detail.json'), 'utf8'));
    assert.equal(meta.temperature, detail.temperature, 'calibrated on validation like a trained run');
    assert.ok(detail.variants['val/flip'] && detail.variants['val/none'], 'both flip modes evaluated with --tta');
    tf.dispose(x);
    for (const m of [a, b, merged]) m.dispose();
    // The extension's classifier loads it as any model (and folds both members' BatchNorms).
    const classifier = await load(fileLoadHandler(join(ens, 'best', 'model.json')));
    assert.deepEqual(classifier.inputShape, { width: 16, height: 16 });
    classifier.dispose();

    const report = await readFile(join(ens, 'report.html'), 'utf8');
    assert.match(report, /Result \(ensemble of 2 runs/);
    assert.ok(report.includes(join(m1, 'report.html')), "the report links the members' reports");
    assert.doesNotMatch(report, /<canvas id="loss">/, 'no empty training curves');

    // Ship: the card describes the members' shared recipe, their seeds and how to reproduce all of it.
    const out = join(root, 'shipped-ensemble');
    const shipped = spawnSync(process.execPath, ['bin/dermlens.js', 'ship', '--run', ens, '--baseline', join(root, 'runB'), '--out', out], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(shipped.status, 0, shipped.stderr);
    const card = JSON.parse(await readFile(join(out, 'model-card.json'), 'utf8'));
    parseModelCard(card);
    assert.equal(card.name, 'DermLens ensemble of 2 compact CNNs');
    assert.deepEqual(card.recipe.ensemble, { members: ['member1', 'member2'], seeds: [7, 8], splitSeed: 7 });
    assert.deepEqual(
      [card.candidates.runs[0].arch, card.candidates.runs[0].bestEpoch, card.candidates.runs[0].memberBestEpochs.length],
      ['2 x compact', null, 2],
    );
    assert.match(
      card.training,
      /^2 networks, each trained from scratch .*split, seed 7\) .* dropout \(7, 8\); the shipped model averages their probabilities\.$/,
    );
    assert.match(
      card.trainCommand,
      /--out runs\/release-m1 .*--seed 7 .* && .*--out runs\/release-m2 .*--seed 8 --split-seed 7 .* && npx dermlens ensemble --member runs\/release-m1 --member runs\/release-m2 --out runs\/release --tta$/,
    );
    assert.match(await readFile(join(out, 'MODEL_CARD.md'), 'utf8'), /- 2 networks of architecture `compact`/);

    // Refusals, with nothing written: a Sequential member, another split, a member listed twice, too few.
    await assert.rejects(
      buildEnsemble({ members: [m1, runA], outDir: join(root, 'ensX'), tta: false, quantize: 'none' }, quiet),
      /Sequential model/,
    );
    const otherSplit = join(root, 'member-other-split');
    await cp(m2, otherSplit, { recursive: true });
    const moved = await splitOf(otherSplit);
    [moved.val[0], moved.test[0]] = [moved.test[0], moved.val[0]];
    await writeFile(join(otherSplit, 'split.json'), JSON.stringify(moved));
    await assert.rejects(
      buildEnsemble({ members: [m1, otherSplit], outDir: join(root, 'ensX'), tta: false, quantize: 'none' }, quiet),
      /holds out other images/,
    );
    await assert.rejects(
      buildEnsemble({ members: [m1, m1], outDir: join(root, 'ensX'), tta: false, quantize: 'none' }, quiet),
      /listed twice/,
    );
    await assert.rejects(
      buildEnsemble({ members: [m1, m2], outDir: ens, tta: false, quantize: 'none' }, quiet),
      /already holds a finished ensemble/,
    );
    await assert.rejects(buildEnsemble({ members: [m1, m2], outDir: m1, tta: false, quantize: 'none' }, quiet), /is one of the members/);
    await assert.rejects(buildEnsemble({ members: [m1, m2], outDir: runA, tta: false, quantize: 'none' }, quiet), /already holds a run/);
    // An ensemble interrupted before its evaluation finished is made again.
    const interrupted = join(root, 'ensemble-interrupted');
    await cp(ens, interrupted, { recursive: true });
    await rm(join(interrupted, 'metrics-detail.json'));
    await buildEnsemble({ members: [m1, m2], outDir: interrupted, tta: false, quantize: 'none' }, quiet);
    assert.ok((await stat(join(interrupted, 'metrics-detail.json'))).size > 0);
    assert.equal((await readdir(root)).includes('ensX'), false, 'nothing written');
    assert.equal(await main(['ensemble', '--member', m1, '--out', join(root, 'ensX')]), 1, 'one member is a usage error');

    // compare: paired, lesion-resampled intervals for validation differences; only runs on one split.
    const compare = (...args: string[]) =>
      spawnSync(process.execPath, ['--import', 'tsx', 'scripts/compare-runs.ts', ...args], { encoding: 'utf8', timeout: 60_000 });
    const compared = compare('--base', m1, '--run', m2, '--run', ens);
    assert.equal(compared.status, 0, compared.stderr);
    assert.match(compared.stdout, /resampling the \d+ lesions/);
    const rows = compared.stdout.trim().split('\n').slice(2);
    assert.deepEqual(
      rows.map((r) => r.split(/\s+/)[0]),
      ['member2', 'ensemble'],
    );
    const baseScore = JSON.parse(await readFile(join(m1, 'metrics-detail.json'), 'utf8')).val.balancedAccuracy;
    for (const [row, dir] of [
      [rows[0], m2],
      [rows[1], ens],
    ] as const) {
      const [, score, diff, low, , high] = row.split(/\s+/).map(Number);
      const expected = JSON.parse(await readFile(join(dir, 'metrics-detail.json'), 'utf8')).val.balancedAccuracy;
      assert.ok(Math.abs(score - expected) < 6e-4 && Math.abs(diff - (expected - baseScore)) < 1.1e-3, row);
      assert.ok(low <= diff + 1e-9 && diff <= high + 1e-9, `the interval holds the observed difference: ${row}`);
    }
    const otherPredictions = JSON.parse(await readFile(join(otherSplit, 'predictions.json'), 'utf8'));
    otherPredictions.val.imageIds[0] = moved.val[0]; // as if validated on the other split
    await writeFile(join(otherSplit, 'predictions.json'), JSON.stringify(otherPredictions));
    const mismatched = compare('--base', m1, '--run', otherSplit);
    assert.equal(mismatched.status, 1);
    assert.match(mismatched.stderr, /^compare: member-other-split was validated on other images/);
  });

  test("refit: the reference run's recipe on train + val, last epoch, its settings and validation numbers carried over; resumes; ships", async () => {
    const refitDir = join(root, 'refit');
    const readJson = async (path: string) => JSON.parse(await readFile(path, 'utf8'));
    const refConfig = await readJson(join(runA, 'config.json'));
    const config = refitConfig(refConfig, runA, refitDir);
    assert.deepEqual([config.refitFrom, config.patience, config.outDir], [runA, 0, refitDir]);
    const tensorsBefore = tf.memory().numTensors;
    const logStart = logs.length;
    const result = await train(config, quiet);
    assert.equal(tf.memory().numTensors, tensorsBefore, 'a refit leaves no tensors behind');

    // It trained on train + val, every epoch, and kept the last one.
    const split = await readJson(join(runA, 'split.json'));
    const ds = await loadDataset({
      images: parseHamMetadata(await readFile(data.metadataPath, 'utf8'), data.metadataPath),
      imageDir: data.dir,
      size: 16,
    });
    const idx = splitIndices(ds.items, split);
    assert.ok(
      logs
        .slice(logStart)
        .includes(`refit of ${runA}: training on train + val (${idx.train.length + idx.val.length} images), keeping the last epoch`),
    );
    assert.deepEqual(
      result.history.map((h) => [h.epoch, h.valBalancedAccuracy, h.valLoss]),
      [
        [1, null, null],
        [2, null, null],
        [3, null, null],
      ],
    );
    assert.equal(result.bestEpoch, 3);

    // Settings fitted on held-out data, and the validation numbers, are the reference's; test is its own.
    const [ref, refit] = [await readJson(join(runA, 'metrics-detail.json')), await readJson(join(refitDir, 'metrics-detail.json'))];
    assert.deepEqual([refit.temperature, refit.tta, refit.refitFrom], [ref.temperature, ref.tta, runA]);
    assert.deepEqual(refit.val, ref.val);
    assert.deepEqual(refit.operatingPoint?.val, ref.operatingPoint?.val);
    assert.equal(refit.test.n, idx.test.length);
    assert.deepEqual(Object.keys(refit.variants), [`test/${ref.tta}`], 'only test is predicted');
    const [refPredictions, refitPredictions] = [
      await readJson(join(runA, 'predictions.json')),
      await readJson(join(refitDir, 'predictions.json')),
    ];
    assert.deepEqual(refitPredictions.val, refPredictions.val);
    assert.deepEqual(refitPredictions.test.imageIds, refPredictions.test.imageIds);
    assert.notDeepEqual(refitPredictions.test.probs, refPredictions.test.probs, 'a new network');
    const meta = (await readJson(join(refitDir, 'best/model.json'))).userDefinedMetadata.dermlens;
    const refMeta = (await readJson(join(runA, 'best/model.json'))).userDefinedMetadata.dermlens;
    assert.deepEqual([meta.temperature, meta.tta, meta.melanomaThreshold], [refMeta.temperature, refMeta.tta, refMeta.melanomaThreshold]);
    const report = await readFile(join(refitDir, 'report.html'), 'utf8');
    assert.match(report, /Result \(refit, last epoch 3,/);
    assert.match(report, /<th>validation \(the reference run&#39;s\)<\/th>/);
    assert.match(report, /No validation curves: a refit trains on the validation images/);
    assert.doesNotMatch(report, /<canvas id="metrics">/, 'no empty validation chart');

    // Killed after one epoch and resumed from the CLI (its config names the reference): same weights.
    const resumedDir = join(root, 'refit-resumed');
    const partial = await train(refitConfig(refConfig, runA, resumedDir), { ...quiet, stopAfterEpochs: 1 });
    assert.equal(partial.completed, false);
    assert.equal(await main(['train', '--resume', '--out', resumedDir, '--backend', 'cpu', '--no-cache']), 0);
    assert.ok(
      maxAbsDiff(
        (await checkpointWeights(resumedDir, config)).flatMap((a) => Array.from(a)),
        (await checkpointWeights(refitDir, config)).flatMap((a) => Array.from(a)),
      ) < 1e-5,
      'resumed refit = uninterrupted refit',
    );

    // Refusals, before anything is written: recipe flags, another recipe, an unfinished, ensemble or refit reference.
    assert.equal(await main(['train', '--refit-from', runA, '--out', join(root, 'refitX'), '--epochs', '5']), 1);
    await assert.rejects(train({ ...config, outDir: join(root, 'refitX'), lr: config.lr * 2 }, quiet), /recipe unchanged \(lr: reference/);
    await assert.rejects(train(refitConfig(refConfig, refitDir, join(root, 'refitX')), quiet), /is itself a refit/);
    const unfinished = join(root, 'unfinished');
    await cp(runA, unfinished, { recursive: true });
    await rm(join(unfinished, 'metrics-detail.json'));
    await assert.rejects(train(refitConfig(refConfig, unfinished, join(root, 'refitX')), quiet), /has not finished training/);
    const ensembleLike = join(root, 'ensemble-like');
    await cp(runA, ensembleLike, { recursive: true });
    await writeFile(join(ensembleLike, 'config.json'), JSON.stringify({ ...refConfig, kind: 'ensemble' }));
    await assert.rejects(train(refitConfig(refConfig, ensembleLike, join(root, 'refitX')), quiet), /is an ensemble, not a training run/);
    assert.equal((await readdir(root)).includes('refitX'), false, 'nothing written');

    // Ship: listed with the reference's validation numbers (a tie, so it may ship in its place), labelled.
    const out = join(root, 'shipped-refit');
    const shipped = spawnSync(
      process.execPath,
      ['bin/dermlens.js', 'ship', '--run', refitDir, '--baseline', join(root, 'runB'), '--candidate', runA, '--out', out],
      { encoding: 'utf8', timeout: 60_000 },
    );
    assert.equal(shipped.status, 0, shipped.stderr);
    const card = await readJson(join(out, 'model-card.json'));
    parseModelCard(card);
    assert.match(card.valMetricsFrom, /^runA: the shipped network is its refit/);
    assert.deepEqual([card.candidates.runs[0].refitOf, card.candidates.runs[0].bestEpoch, card.recipe.refitFrom], ['runA', 3, 'runA']);
    assert.deepEqual(card.metrics.val.confusion, ref.val.confusion);
    assert.match(
      card.trainCommand,
      /--out runs\/release-validated .* && npx dermlens train --refit-from runs\/release-validated --out runs\/release$/,
    );
    assert.match(card.training, /images: the training and validation sides.*This is a refit: run runA/);
    const md = await readFile(join(out, 'MODEL_CARD.md'), 'utf8');
    assert.match(md, /The shipped network is a \*\*refit\*\*/);
    assert.match(md, /\*\*refit\*\* \(shipped\) \(refit of runA: its validation numbers\)/);
    // compare: a refit has no validation predictions of its own to compare.
    const compared = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/compare-runs.ts', '--base', runA, '--run', refitDir], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(compared.status, 1);
    assert.match(compared.stderr, /^compare: refit is a refit of runA: it trained on the validation images/);
  });

  test('evaluate --json writes exactly the metric keys; missing images are skipped', async () => {
    const labels = join(root, 'labels.csv');
    const csv = await readFile(data.metadataPath, 'utf8');
    await writeFile(labels, `${csv}HAM_0000001,ISIC_0000404,mel,histo,30.0,male,back\n`);
    const out = join(root, 'eval', 'metrics.json');
    const code = await main([
      'evaluate',
      '--model',
      join(runA, 'best'),
      '--data',
      data.dir,
      '--labels',
      labels,
      '--json',
      out,
      '--backend',
      'cpu',
    ]);
    assert.equal(code, 0);
    const metrics = JSON.parse(await readFile(out, 'utf8'));
    assert.deepEqual(Object.keys(metrics), METRIC_KEYS);
    assert.equal(metrics.n, data.imageIds.length, 'all valid images scored; the corrupt and the missing one skipped');
    assert.equal(
      metrics.confusion.flat().reduce((x: number, y: number) => x + y, 0),
      data.imageIds.length,
    );
  });

  test('export + reload gives the in-memory predictions; float16 and uint8 exports load within tolerance', async () => {
    const config = tinyConfig(runA);
    const model = buildModel('seed', { inputSize: 16, seed: 7 });
    const optimizer = tf.train.adam();
    await restoreCheckpoint((await findCheckpoint(runA))!, model, optimizer);
    optimizer.dispose();
    const items = parseHamMetadata(await readFile(data.metadataPath, 'utf8'), data.metadataPath);
    const ds = await loadDataset({ images: items, imageDir: data.dir, size: 16 });
    const indices = ds.items.map((_, i) => i);
    const inference = { temperature: 1.7, tta: 'flip' as const };
    const reference = await predictDataset(model, ds, indices, inference);
    const metadata = dermlensMetadata({ arch: config.arch, inputSize: 16, ...inference });
    const perImage = 16 * 16 * 3;
    const inputs = indices.map((i) => ds.pixels.slice(i * perImage, (i + 1) * perImage));

    const sizes: Record<string, number> = {};
    const diffs: Record<string, number> = {};
    for (const q of ['none', 'float16', 'uint8'] as const) {
      const dir = join(root, `export-${q}`);
      await exportModel(model, dir, metadata, q);
      const shards = (await readdir(dir)).filter((f) => f.endsWith('.bin'));
      sizes[q] = (await Promise.all(shards.map((f) => stat(join(dir, f))))).reduce((s, st) => s + st.size, 0);
      const classifier = await load(fileLoadHandler(join(dir, 'model.json')), { warmUp: false });
      assert.deepEqual(classifier.metadata, metadata);
      const rows = await classifier.classifyInputs(inputs);
      diffs[q] = Math.max(...rows.map((row, i) => maxAbsDiff(row, reference[i])));
      classifier.dispose();
    }
    model.dispose();
    assert.ok(diffs.none < 1e-6, `float32 export differs by ${diffs.none}`);
    assert.ok(diffs.float16 < 5e-3, `float16 export differs by ${diffs.float16}`);
    assert.ok(diffs.uint8 < 0.1, `uint8 export differs by ${diffs.uint8}`);
    assert.ok(Math.abs(sizes.float16 / sizes.none - 0.5) < 0.01, `float16 is half the size: ${sizes.float16} vs ${sizes.none}`);
    assert.ok(Math.abs(sizes.uint8 / sizes.none - 0.25) < 0.01, `uint8 is a quarter: ${sizes.uint8} vs ${sizes.none}`);
  });

  test('CLI as a subprocess: clear errors with exit code 1 and no stack trace; classify goes on past a bad file', () => {
    const run = (...args: string[]) => spawnSync(process.execPath, ['bin/dermlens.js', ...args], { encoding: 'utf8', timeout: 60_000 });
    const missing = join(root, 'no-such-folder');
    const r1 = run('train', '--data', missing, '--out', join(root, 'runX'), '--backend', 'cpu');
    assert.equal(r1.status, 1, r1.stderr);
    assert.match(r1.stderr, new RegExp(`dermlens: data folder not found: ${missing}`));
    assert.doesNotMatch(r1.stderr, /\n\s+at /, 'no stack trace');

    const r2 = run('train', '--out', join(root, 'runY'));
    assert.equal(r2.status, 1);
    assert.match(r2.stderr, /--data <dir> is required/);

    const r3 = run(
      'classify',
      data.samplePaths[0],
      join(data.dir, 'HAM10000_images_part_1', `${data.corruptId}.jpg`),
      '--model',
      join(runA, 'best'),
      '--backend',
      'cpu',
    );
    assert.equal(r3.status, 1, 'one file failed');
    assert.match(r3.stdout, new RegExp(`${data.samplePaths[0].replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n(  \\w+ +\\d+\\.\\d%  .+\\n){7}`));
    assert.ok(r3.stderr.includes(`${data.corruptId}.jpg: ${IMAGE_REFUSALS.text()}`), `the shared refusal for a text file: ${r3.stderr}`);
    assert.doesNotMatch(r3.stderr, /\n\s+at /);
  });

  test('CLI names the file and row of an unknown dx', async () => {
    const bad = join(root, 'bad-data');
    await writeSyntheticHam(bad, { perClass: 1 });
    const csv = await readFile(join(bad, 'HAM10000_metadata.csv'), 'utf8');
    await writeFile(join(bad, 'HAM10000_metadata.csv'), csv.replace(',bkl,', ',xyz,'));
    const r = spawnSync(process.execPath, ['bin/dermlens.js', 'train', '--data', bad, '--out', join(root, 'runZ'), '--backend', 'cpu'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /HAM10000_metadata\.csv:4: .*xyz/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });
});
