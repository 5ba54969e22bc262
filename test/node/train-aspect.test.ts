// A non-square model end to end (issue 24): `dermlens train --size 32x24` on the synthetic HAM10000 set (its
// images are 40x30, 4:3), on the cpu backend: the flag is recorded in config.json and checked on --resume,
// the pixel cache is keyed by the shape, the exported model states its input and preprocessing, and
// classify and explain (CAM) run on it with the crop of exactly 4:3, without leaking tensors.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import '@tensorflow/tfjs-backend-cpu';
import { tf } from '../../core/tf.ts';
import { load } from '../../core/classifier.ts';
import { cardInputLabel, parseModelCard } from '../../core/model-card.ts';
import { explainImage } from '../../core/class-activation-map.ts';
import { CLASS_CODES } from '../../core/labels.ts';
import { ASPECT_PREPROCESS_VERSION, preprocess } from '../../core/preprocess.ts';
import { initBackend } from '../../trainer/backends/select.ts';
import { main } from '../../trainer/cli/commands.ts';
import { decodeImage } from '../../trainer/data/images.ts';
import { fileLoadHandler } from '../../trainer/run/model-files.ts';
import { DEFAULT_TRAIN_CONFIG, type TrainConfig } from '../../trainer/run/config.ts';
import { train } from '../../trainer/train/train.ts';
import { writeSyntheticHam, type SyntheticHam } from './helpers/synthetic-ham.ts';

/** Runs the CLI with its console output captured. */
async function cli(argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const [log, error] = [console.log, console.error];
  console.log = (...parts: unknown[]) => void out.push(parts.join(' '));
  console.error = (...parts: unknown[]) => void err.push(parts.join(' '));
  try {
    return { code: await main(argv), out, err };
  } finally {
    [console.log, console.error] = [log, error];
  }
}

describe('a 32x24 compact model: train, resume, classify, explain (cpu backend)', { timeout: 600_000 }, () => {
  let root: string;
  let data: SyntheticHam;
  let run: string;
  let cache: string;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'dermlens-aspect-'));
    data = await writeSyntheticHam(join(root, 'data'), { perClass: 8 });
    run = join(root, 'run');
    cache = join(root, 'cache');
    await initBackend('cpu', { allowCpuForTraining: true, log: null });
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test('trains one epoch, refuses to resume at another size, resumes from the CLI with the cached pixels', async () => {
    const config: TrainConfig = {
      ...DEFAULT_TRAIN_CONFIG,
      dataDir: data.dir,
      outDir: run,
      arch: 'compact',
      size: '32x24',
      epochs: 2,
      batch: 16,
      seed: 3,
    };
    const tensors = tf.memory().numTensors;
    const first = await train(config, { progress: 'plain', log: () => {}, cacheDir: cache, stopAfterEpochs: 1 });
    assert.equal(first.completed, false);
    assert.equal(tf.memory().numTensors, tensors, 'train() leaves no tensors behind');
    assert.equal(JSON.parse(await readFile(join(run, 'config.json'), 'utf8')).size, '32x24', 'config.json records WxH');
    const cached = (await readdir(cache)).filter((f) => f.endsWith('.bin'));
    assert.equal(cached.length, 1);
    assert.match(cached[0], /^dataset-32x24px-[0-9a-f]{16}\.bin$/, 'the cache is keyed by the shape');

    const other = await cli(['train', '--resume', '--out', run, '--size', '24x32', '--backend', 'cpu', '--cache-dir', cache]);
    assert.equal(other.code, 1);
    assert.match(other.err.join('\n'), /cannot resume .*size: saved "32x24", requested "24x32"/);
    const square = await cli(['train', '--resume', '--out', run, '--size', '32', '--backend', 'cpu', '--cache-dir', cache]);
    assert.match(square.err.join('\n'), /size: saved "32x24", requested 32/);
    const bad = await cli(['train', '--resume', '--out', run, '--size', '32by24', '--backend', 'cpu']);
    assert.equal(bad.code, 1);
    assert.match(bad.err.join('\n'), /--size expects a side in pixels \(128\) or width x height \(160x120\), got "32by24"/);

    const resumed = await cli(['train', '--resume', '--out', run, '--backend', 'cpu', '--cache-dir', cache]);
    assert.equal(resumed.code, 0, resumed.err.join('\n'));
    assert.ok(
      resumed.out.some((l) => /loaded \d+ images .*\(cache hit\)/.test(l)),
      'the resumed run read the cached pixels',
    );
    assert.equal((await readdir(cache)).filter((f) => f.endsWith('.bin')).length, 1, 'the resumed run read the same cache file');

    const meta = JSON.parse(await readFile(join(run, 'best', 'model.json'), 'utf8')).userDefinedMetadata.dermlens;
    assert.equal(meta.inputWidth, 32);
    assert.equal(meta.inputHeight, 24);
    assert.ok(!('inputSize' in meta), 'no inputSize on a non-square model');
    assert.equal(meta.preprocess, ASPECT_PREPROCESS_VERSION);
    assert.ok(meta.temperature > 0, 'calibrated like any run');
  });

  test('classify and explain it: same probabilities, the map over the 4:3 crop, no tensors leak', async () => {
    // A 2:1 image: a 4:3 model sees its middle 80 of 120 columns.
    const image = join(root, 'wide.png');
    const [r, g, b] = [200, 80, 60];
    const pixels = Buffer.alloc(120 * 60 * 3);
    for (let i = 0; i < 120 * 60; i++) pixels.set([r + ((i * 7) % 40), g + ((i * 3) % 30), b], i * 3);
    await sharp(pixels, { raw: { width: 120, height: 60, channels: 3 } })
      .png()
      .toFile(image);

    const model = join(run, 'best');
    const classified = await cli(['classify', image, '--model', model, '--json', '--backend', 'cpu']);
    assert.equal(classified.code, 0, classified.err.join('\n'));
    const record = JSON.parse(classified.out.find((l) => l.startsWith('{'))!) as { predictions: { code: string; probability: number }[] };
    const explained = await cli(['explain', image, '--model', model, '--out', join(root, 'heat.png'), '--json', '--backend', 'cpu']);
    assert.equal(explained.code, 0, explained.err.join('\n'));
    const json = JSON.parse(explained.out.at(-1)!);
    assert.deepEqual(json.map.crop, { x: 20, y: 0, width: 80, height: 60 }, 'the crop is exactly 4:3');
    assert.deepEqual([json.map.width, json.map.height], [2, 2], 'the compact net maps 32x24 onto a 2x2 grid');
    for (const p of record.predictions) assert.ok(Math.abs(json.probabilities[p.code] - p.probability) < 1e-6, p.code);
    const written = await sharp(join(root, 'heat.png')).metadata();
    assert.deepEqual([written.width, written.height], [120, 60]);

    // In process: the classifier takes the shape from the metadata and neither path leaks tensors.
    const classifier = await load(fileLoadHandler(join(model, 'model.json')));
    assert.deepEqual(classifier.inputShape, { width: 32, height: 24 });
    const rgba = await decodeImage(image);
    const tensors = tf.memory().numTensors;
    const predictions = await classifier.classify(rgba);
    const explanation = await explainImage(classifier, rgba);
    assert.equal(tf.memory().numTensors, tensors, 'classify and explain leak no tensors');
    const [direct] = await classifier.classifyInputs([preprocess(rgba, classifier.inputShape)]);
    for (const p of predictions) assert.ok(Math.abs(p.probability - direct[CLASS_CODES.indexOf(p.code)]) < 1e-6, p.code);
    explanation.probabilities.forEach((v, k) => assert.ok(Math.abs(v - direct[k]) < 1e-6, `class ${k}`));
    classifier.dispose();
  });

  test('ship writes its card: the input as inputWidth/inputHeight, the crop described, the train command with --size 32x24', async () => {
    const out = join(root, 'shipped');
    const shipped = spawnSync(process.execPath, ['bin/dermlens.js', 'ship', '--run', run, '--baseline', run, '--out', out], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.equal(shipped.status, 0, shipped.stderr);
    const cardJson = JSON.parse(await readFile(join(out, 'model-card.json'), 'utf8'));
    const card = parseModelCard(cardJson);
    assert.deepEqual([card.inputSize, card.inputWidth, card.inputHeight], [undefined, 32, 24]);
    assert.equal(cardInputLabel(card), '32x24');
    assert.equal(cardJson.preprocessing.version, ASPECT_PREPROCESS_VERSION);
    assert.match(cardJson.preprocessing.description, /centre crop to exactly 32:24 \(no squashing\); area-averaging resize to 32x24/);
    assert.match(cardJson.version, /^compact-32x24 run /);
    const md = await readFile(join(out, 'MODEL_CARD.md'), 'utf8');
    assert.match(md, /- Input 32x24 RGB\. Preprocessing `rgba-crop-input-aspect-area-v1`/);
    assert.match(md, / --size 32x24 /);
  });
});
