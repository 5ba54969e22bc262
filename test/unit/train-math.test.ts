import { test } from 'node:test';
import assert from 'node:assert/strict';
import '@tensorflow/tfjs-backend-cpu';
import { tf } from '../../core/tf.ts';
import { applyTemperature, fitTemperature, nllAtTemperature } from '../../trainer/evaluate/calibrate.ts';
import { balancedClassWeights, weightedCrossEntropy } from '../../trainer/train/loss.ts';
import { meanNll } from '../../trainer/evaluate/calibrate.ts';
import { learningRateAt } from '../../trainer/train/schedule.ts';
import { DEFAULT_TRAIN_CONFIG, resumeConflict, splitSeedOf, validateConfig, type TrainConfig } from '../../trainer/run/config.ts';
import { epochOrder } from '../../trainer/train/step.ts';
import { mixSeed } from '../../trainer/data/rng.ts';
import { makeRng } from '../../trainer/data/rng.ts';

await tf.setBackend('cpu');

test('weightedCrossEntropy: plain, label-smoothed and class-weighted values by hand', () => {
  const y = tf.tensor2d([
    [1, 0, 0],
    [0, 0, 1],
  ]);
  const p = tf.tensor2d([
    [0.7, 0.2, 0.1],
    [0.25, 0.25, 0.5],
  ]);
  const before = tf.memory().numTensors;
  const plain = weightedCrossEntropy(y, p);
  assert.ok(Math.abs(plain.dataSync()[0] - -(Math.log(0.7) + Math.log(0.5)) / 2) < 1e-6);
  // Smoothing 0.3 over 3 classes: targets 0.8 / 0.1 / 0.1.
  const smooth = weightedCrossEntropy(y, p, { labelSmoothing: 0.3 });
  const e1 = -(0.8 * Math.log(0.7) + 0.1 * Math.log(0.2) + 0.1 * Math.log(0.1));
  const e2 = -(0.1 * Math.log(0.25) + 0.1 * Math.log(0.25) + 0.8 * Math.log(0.5));
  assert.ok(Math.abs(smooth.dataSync()[0] - (e1 + e2) / 2) < 1e-6);
  const weighted = weightedCrossEntropy(y, p, { classWeights: [2, 1, 0.5] });
  assert.ok(Math.abs(weighted.dataSync()[0] - (-2 * Math.log(0.7) - 0.5 * Math.log(0.5)) / 2) < 1e-6);
  tf.dispose([plain, smooth, weighted]);
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([y, p]);
});

test('balancedClassWeights average 1 over the samples and equalise classes', () => {
  const labels = [0, 0, 0, 0, 0, 0, 1, 1, 2];
  const w = balancedClassWeights(labels, 4);
  assert.deepEqual(
    w.map((v) => Number(v.toFixed(4))),
    [0.5, 1.5, 3, 0],
  );
  assert.ok(Math.abs(labels.reduce((s, l) => s + w[l], 0) / labels.length - 1) < 1e-12);
});

test('meanNll clips zero probabilities', () => {
  assert.ok(
    Math.abs(
      meanNll(
        [0, 1],
        [
          [0.5, 0.5],
          [1, 0],
        ],
      ) -
        (Math.log(2) - Math.log(1e-7)) / 2,
    ) < 1e-9,
  );
});

test('learning-rate schedules: warm-up, constant, cosine', () => {
  const base = { lr: 0.01, warmupSteps: 10, totalSteps: 110 };
  assert.equal(learningRateAt(0, { ...base, schedule: 'constant' }), 0.001);
  assert.equal(learningRateAt(9, { ...base, schedule: 'constant' }), 0.01);
  assert.equal(learningRateAt(50, { ...base, schedule: 'constant' }), 0.01);
  assert.ok(Math.abs(learningRateAt(10, { ...base, schedule: 'cosine' }) - 0.01) < 1e-12);
  assert.ok(Math.abs(learningRateAt(60, { ...base, schedule: 'cosine' }) - 0.005) < 1e-12);
  assert.ok(learningRateAt(109, { ...base, schedule: 'cosine' }) < 1e-5);
});

test('fitTemperature recovers the temperature that generated the labels', () => {
  // Labels drawn from softmax(logits / 2.5); the model reports softmax(logits), i.e. overconfident.
  const rng = makeRng(3);
  const yTrue: number[] = [];
  const probs: Float64Array[] = [];
  for (let i = 0; i < 4000; i++) {
    const logits = [0, 1, 2].map(() => (rng() - 0.5) * 12);
    const reported = applyTemperature(
      logits.map(Math.exp).map((v, _, a) => v / a.reduce((s, x) => s + x, 0)),
      1,
    );
    const truth = applyTemperature(reported, 2.5);
    const u = rng();
    yTrue.push(u < truth[0] ? 0 : u < truth[0] + truth[1] ? 1 : 2);
    probs.push(reported);
  }
  const t = fitTemperature(yTrue, probs);
  assert.ok(Math.abs(t - 2.5) < 0.25, `fitted ${t}`);
  assert.ok(nllAtTemperature(yTrue, probs, t) < nllAtTemperature(yTrue, probs, 1));
});

test('epochOrder: a permutation without balancing, class-balanced draws with it', () => {
  const idx = Array.from({ length: 100 }, (_, i) => i);
  const label = (i: number) => (i < 90 ? 5 : i < 99 ? 1 : 3);
  const order = epochOrder(idx, label, false, makeRng(1));
  assert.deepEqual(
    [...order].sort((a, b) => a - b),
    idx,
  );
  assert.notDeepEqual(order, idx);
  const counts = new Map<number, number>();
  for (let r = 0; r < 30; r++)
    for (const i of epochOrder(idx, label, true, makeRng(r))) counts.set(label(i), (counts.get(label(i)) ?? 0) + 1);
  for (const c of [5, 1, 3]) assert.ok(Math.abs(counts.get(c)! / 3000 - 1 / 3) < 0.03, `class ${c}: ${counts.get(c)}`);
  assert.deepEqual(epochOrder(idx, label, true, makeRng(4)), epochOrder(idx, label, true, makeRng(4)));
});

test('mixSeed separates streams', () => {
  const seen = new Set<number>();
  for (let e = 0; e < 50; e++) for (let s = 1; s <= 3; s++) seen.add(mixSeed(42, s, e));
  assert.equal(seen.size, 150);
});

test('config validation and the resume rule', () => {
  const c: TrainConfig = { ...DEFAULT_TRAIN_CONFIG, dataDir: 'd', outDir: 'o' };
  validateConfig(c);
  assert.throws(() => validateConfig({ ...c, arch: 'resnet' }), /unknown architecture "resnet"/);
  assert.throws(() => validateConfig({ ...c, batch: 1.5 }), /batch must be an integer/);
  assert.throws(() => validateConfig({ ...c, balance: 'x' as never }), /unknown balance mode/);
  assert.equal(resumeConflict(c, { ...c, epochs: 80, patience: 5, outDir: 'elsewhere', quantize: 'float16' }), null);
  assert.match(resumeConflict(c, { ...c, size: 96 })!, /size: saved 64, requested 96/);
  assert.match(
    resumeConflict({ ...c, lrSchedule: 'cosine' }, { ...c, lrSchedule: 'cosine', epochs: 80 })!,
    /epochs: saved 50, requested 80/,
  );
  // The split follows --seed unless --split-seed sets it apart (another ensemble member on one split).
  assert.equal(splitSeedOf(c), 42);
  assert.equal(splitSeedOf({ ...c, seed: 7, splitSeed: 42 }), 42);
  assert.equal(resumeConflict({ ...c, seed: 7, splitSeed: 42 }, { ...c, seed: 7, splitSeed: 42 }), null);
  assert.match(resumeConflict({ ...c, seed: 7, splitSeed: 42 }, { ...c, seed: 7 })!, /splitSeed: saved 42, requested undefined/);
  assert.throws(() => validateConfig({ ...c, splitSeed: Number.NaN }), /split seed must be a number/);
});
