// The image-kind gate (core/dermoscopy-gate.ts, trainer/train/fit-gate.ts): a second output of the same
// forward pass, read by the classifier with the thresholds from the metadata. The three-way gate (softmax
// over dermoscopic / clinical / other) and the older one-unit gate both load; its softmax regression
// separates separable features, its thresholds flag the share they were chosen for.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import '@tensorflow/tfjs-backend-cpu';
import { tf } from '../../core/tf.ts';
import { buildModel } from '../../core/models.ts';
import {
  attachGate,
  countKinds,
  featureModel,
  gateOutputIndex,
  gateUnits,
  imageKindVerdict,
  GATE_LAYER,
  IMAGE_KIND_LAYER,
} from '../../core/dermoscopy-gate.ts';
import { fromModel, predictProbabilities, predictWithGate } from '../../core/classifier.ts';
import { dermlensMetadata } from '../../core/model-metadata.ts';
import { chooseClinicalThreshold, fitSoftmax, softmaxScores, thresholdForFlagRate } from '../../trainer/train/fit-gate.ts';
import { makeRng } from '../../trainer/data/rng.ts';

before(async () => {
  await tf.setBackend('cpu');
});

const SIZE = 32;

test('the one-unit gate of older models is a second output of the same forward pass: class probabilities unchanged, score = sigmoid(features . w + b), read as [s, 0, 1 - s]', () => {
  const model = buildModel('compact', { inputSize: SIZE, seed: 3 });
  const features = featureModel(model);
  const dims = features.outputs[0].shape[1]!;
  const rng = makeRng(4);
  const kernel = Float32Array.from({ length: dims }, () => rng() - 0.5);
  const gated = attachGate(model, kernel, 0.3);
  try {
    assert.equal(gateOutputIndex(model), null);
    assert.equal(gateOutputIndex(gated), 1);
    assert.equal(gated.outputs[1].sourceLayer.name, GATE_LAYER);
    const x = tf.randomUniform([3, SIZE, SIZE, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    const { probabilities, kinds } = predictWithGate(gated, x, { temperature: 1, tta: 'flip' });
    const plain = predictProbabilities(model, x, { temperature: 1, tta: 'flip' });
    assert.deepEqual(Array.from(probabilities.dataSync()), Array.from(plain.dataSync()), 'the classification is the same');
    const f = tf.tidy(() => (features.predict(x) as tf.Tensor2D).arraySync());
    const want = f.map((row) => 1 / (1 + Math.exp(-(row.reduce((a, v, j) => a + v * kernel[j], 0) + 0.3))));
    assert.deepEqual(kinds!.shape, [3, 3]);
    const got = kinds!.arraySync();
    want.forEach((w, i) => {
      assert.ok(Math.abs(got[i][0] - w) < 1e-5, `image ${i}: ${got[i][0]} vs ${w}`);
      assert.equal(got[i][1], 0, 'the one-unit gate never says clinical');
      assert.ok(Math.abs(got[i][2] - (1 - w)) < 1e-5);
    });
    tf.dispose([probabilities, kinds!, plain]);
    assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
    x.dispose();
  } finally {
    model.dispose();
  }
});

test('an older model with the one-unit gate loads and says dermoscopic or other, never clinical; a gate without its threshold is refused', async () => {
  const model = buildModel('compact', { inputSize: SIZE, seed: 3 });
  const dims = featureModel(model).outputs[0].shape[1]!;
  // A bias alone: every image scores sigmoid(2) = 0.881.
  const gated = attachGate(model, new Float32Array(dims), 2);
  gated.setUserDefinedMetadata({ dermlens: { ...dermlensMetadata({ arch: 'compact', inputSize: SIZE }), dermoscopyThreshold: 0.9 } });
  const classifier = await fromModel(gated, { warmUp: false });
  try {
    assert.equal(classifier.hasDermoscopyGate, true);
    const before = tf.memory().numTensors;
    const [r] = await classifier.assessInputs([new Float32Array(SIZE * SIZE * 3).fill(0.4)]);
    assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
    assert.ok(Math.abs(r.dermoscopy!.score - 1 / (1 + Math.exp(-2))) < 1e-6);
    assert.equal(r.dermoscopy!.dermoscopic, false, '0.881 is below the threshold 0.9');
    assert.equal(r.dermoscopy!.kind, 'other');
    assert.equal(r.dermoscopy!.clinicalScore, null);
    assert.equal(classifier.metadata.clinicalThreshold, null);
    assert.ok(Math.abs(r.probabilities.reduce((a, b) => a + b, 0) - 1) < 1e-5);
  } finally {
    classifier.dispose();
  }
  const noThreshold = buildModel('compact', { inputSize: SIZE, seed: 3 });
  const bad = attachGate(noThreshold, new Float32Array(dims), 0);
  bad.setUserDefinedMetadata({ dermlens: dermlensMetadata({ arch: 'compact', inputSize: SIZE }) });
  // fromModel owns (and on refusal disposes) the model.
  await assert.rejects(fromModel(bad, { warmUp: false }), /dermoscopy gate but no dermoscopyThreshold/);
});

test('fitSoftmax separates three clouds of unequal size, and the dermoscopy threshold flags the share it was chosen for', () => {
  const rng = makeRng(9);
  const dims = 5;
  const sizes = [150, 20, 40]; // imbalanced, as dermoscopic training images against clinical photos and non-skin images
  const n = sizes[0] + sizes[1] + sizes[2];
  const x = new Float32Array(n * dims);
  const labels = new Uint8Array(n);
  labels.fill(1, sizes[0], sizes[0] + sizes[1]).fill(2, sizes[0] + sizes[1]);
  for (let i = 0; i < n; i++) {
    // Class c sits 2 units out along feature c, on an offset the standardisation must undo.
    for (let j = 0; j < dims; j++) x[i * dims + j] = rng() - 0.5 + (j === labels[i] ? 2 : 0) + 10;
  }
  const before = tf.memory().numTensors;
  const { kernel, bias } = fitSoftmax(x, labels, dims, 3, { steps: 300 });
  assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
  assert.equal(kernel.length, dims * 3);
  assert.equal(bias.length, 3);
  const scores = softmaxScores(x, dims, kernel, bias);
  const argmax = scores.map((p) => p.indexOf(Math.max(...p)));
  assert.deepEqual(
    argmax.map((k, i) => k === labels[i]).filter((ok) => !ok).length,
    0,
    'every point goes to its own cloud, the small clinical one included',
  );
  scores.forEach((p) => assert.ok(Math.abs(p[0] + p[1] + p[2] - 1) < 1e-5));
  const dermoscopic = scores.slice(0, sizes[0]).map((p) => p[0]);
  const t = thresholdForFlagRate(dermoscopic, 0.02);
  assert.equal(dermoscopic.filter((s) => s < t).length, 3, '2% of 150 dermoscopic scores below the threshold');
  assert.throws(
    () => fitSoftmax(x.subarray(0, sizes[0] * dims), labels.subarray(0, sizes[0]), dims, 3),
    /class 1 has no training examples/,
  );
});

test('fitSoftmax with groups: a small group of a class weighs as much as its large group, so it is no longer given away to the other class', () => {
  // One feature. Class 0: 200 examples at -2 (group 0) and 10 at +0.4 (group 1); class 1: 100 at +1.
  const xs = [...Array(200).fill(-2), ...Array(10).fill(0.4), ...Array(100).fill(1)].map((v, i) => v + ((i % 7) - 3) * 0.02);
  const x = Float32Array.from(xs);
  const labels = Uint8Array.from(xs, (_, i) => (i < 210 ? 0 : 1));
  const groups = Uint8Array.from(xs, (_, i) => (i >= 200 && i < 210 ? 1 : 0));
  const smallGroupScore = (fit: { kernel: Float32Array; bias: Float32Array }) =>
    softmaxScores(x.subarray(200, 210), 1, fit.kernel, fit.bias).map((p) => p[0]);
  const plain = smallGroupScore(fitSoftmax(x, labels, 1, 2, { steps: 300 }));
  const balanced = smallGroupScore(fitSoftmax(x, labels, 1, 2, { steps: 300, groups }));
  assert.ok(
    plain.every((p) => p < 0.5),
    `without groups the 10 are class 1's: ${plain.map((p) => p.toFixed(2))}`,
  );
  assert.ok(
    balanced.every((p, i) => p > plain[i] + 0.1),
    `with groups they move towards class 0: ${balanced.map((p) => p.toFixed(2))}`,
  );
  assert.throws(() => fitSoftmax(x, labels, 1, 2, { groups: groups.subarray(1) }), /309 group ids for 310 examples/);
});

test('the clinical threshold is chosen on validation: the best split of clinical from other among flagged images, ties nearest 0.5', () => {
  const clinical = [0.9, 0.8, 0.7, 0.35].map((share) => ({ flagged: true, share }));
  const other = [0.1, 0.2, 0.3].map((share) => ({ flagged: true, share }));
  // Every threshold in (0.30, 0.35] names all 4 clinical photos and all 3 non-skin images right; 0.31 is the grid's first.
  const t = chooseClinicalThreshold(clinical, other);
  assert.ok(t > 0.3 && t <= 0.35, `got ${t}`);
  assert.equal(t, 0.35, 'of the equally good ones, the nearest to 0.5');
  // An image that passes as dermoscopic counts as missed whatever its share: it cannot pull the threshold.
  assert.equal(chooseClinicalThreshold([...clinical, { flagged: false, share: 0.05 }], other), 0.35);
  // Nothing to tell apart: 0.5.
  assert.equal(chooseClinicalThreshold([], []), 0.5);
});

test('the verdict: dermoscopic at or above the dermoscopy threshold, else clinical or other by the clinical threshold', () => {
  const thresholds = { dermoscopy: 0.8, clinical: 0.4 };
  const v = (p: number[]) => imageKindVerdict(p, thresholds);
  assert.equal(v([0.8, 0.15, 0.05]).kind, 'dermoscopic', 'at the threshold is in scope');
  assert.equal(v([0.8, 0.15, 0.05]).dermoscopic, true);
  const clinical = v([0.5, 0.2, 0.3]);
  assert.equal(clinical.kind, 'clinical', '0.2 / 0.5 = 0.4 reaches the clinical threshold');
  assert.equal(clinical.dermoscopic, false);
  assert.ok(Math.abs(clinical.clinicalScore! - 0.4) < 1e-12);
  assert.equal(v([0.5, 0.19, 0.31]).kind, 'other');
  assert.equal(v([0.79, 0.2, 0.01]).kind, 'clinical', 'just below the dermoscopy threshold');
  // The one-unit gate: no clinical threshold, never clinical.
  const old = imageKindVerdict([0.1, 0, 0.9], { dermoscopy: 0.5, clinical: null });
  assert.deepEqual(
    { kind: old.kind, dermoscopic: old.dermoscopic, clinicalScore: old.clinicalScore },
    { kind: 'other', dermoscopic: false, clinicalScore: null },
  );
  assert.deepEqual(countKinds(['dermoscopic', 'clinical', 'clinical', 'other']), { n: 4, dermoscopic: 1, clinical: 2, other: 1 });
});

test('the three-way gate is a softmax beside the class head in the same pass; its metadata needs both thresholds', async () => {
  const model = buildModel('compact', { inputSize: SIZE, seed: 3 });
  const dims = featureModel(model).outputs[0].shape[1]!;
  // Bias alone: every image gets softmax([0, 1, 0.5]) = [0.186, 0.506, 0.307]: not dermoscopic, clinical share 0.622.
  const gated = attachGate(model, new Float32Array(dims * 3), [0, 1, 0.5]);
  assert.equal(gateUnits(gated), 3);
  assert.equal(gated.outputs[gateOutputIndex(gated)!].sourceLayer.name, IMAGE_KIND_LAYER);
  gated.setUserDefinedMetadata({
    dermlens: { ...dermlensMetadata({ arch: 'compact', inputSize: SIZE }), dermoscopyThreshold: 0.5, clinicalThreshold: 0.6 },
  });
  const classifier = await fromModel(gated, { warmUp: false });
  try {
    const before = tf.memory().numTensors;
    const [r] = await classifier.assessInputs([new Float32Array(SIZE * SIZE * 3).fill(0.4)]);
    assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
    const e = [1, Math.E, Math.exp(0.5)];
    const sum = e[0] + e[1] + e[2];
    assert.ok(Math.abs(r.dermoscopy!.score - e[0] / sum) < 1e-5);
    assert.ok(Math.abs(r.dermoscopy!.clinicalScore! - e[1] / (e[1] + e[2])) < 1e-5);
    assert.equal(r.dermoscopy!.kind, 'clinical');
    assert.equal(r.dermoscopy!.dermoscopic, false);
  } finally {
    classifier.dispose();
  }
  const missing = attachGate(buildModel('compact', { inputSize: SIZE, seed: 3 }), new Float32Array(dims * 3), [0, 0, 0]);
  missing.setUserDefinedMetadata({ dermlens: { ...dermlensMetadata({ arch: 'compact', inputSize: SIZE }), dermoscopyThreshold: 0.5 } });
  await assert.rejects(fromModel(missing, { warmUp: false }), /three-way image-kind gate but no clinicalThreshold/);
  const stray = attachGate(buildModel('compact', { inputSize: SIZE, seed: 3 }), new Float32Array(dims), 0);
  stray.setUserDefinedMetadata({
    dermlens: { ...dermlensMetadata({ arch: 'compact', inputSize: SIZE }), dermoscopyThreshold: 0.5, clinicalThreshold: 0.5 },
  });
  await assert.rejects(fromModel(stray, { warmUp: false }), /clinicalThreshold but the model has no three-way/);
  assert.throws(
    () => attachGate(buildModel('compact', { inputSize: SIZE, seed: 3 }), new Float32Array(dims * 2), [0, 0]),
    /1 or 3 units, not 2/,
  );
});

test('"where it looked" reads the gate in its own pass: the same score as the classifier, the same probabilities', async () => {
  const { explainInput } = await import('../../core/class-activation-map.ts');
  const model = buildModel('compact', { inputSize: SIZE, seed: 3 });
  const dims = featureModel(model).outputs[0].shape[1]!;
  const rng = makeRng(8);
  const gated = attachGate(
    model,
    Float32Array.from({ length: dims * 3 }, () => rng() - 0.5),
    [-0.2, 0.1, 0],
  );
  gated.setUserDefinedMetadata({
    dermlens: { ...dermlensMetadata({ arch: 'compact', inputSize: SIZE, tta: 'flip' }), dermoscopyThreshold: 0.5, clinicalThreshold: 0.5 },
  });
  const classifier = await fromModel(gated, { warmUp: false });
  try {
    const input = Float32Array.from({ length: SIZE * SIZE * 3 }, () => rng());
    const [assessed] = await classifier.assessInputs([input]);
    const before = tf.memory().numTensors;
    const explained = await explainInput(classifier, input, { x: 0, y: 0, width: SIZE, height: SIZE });
    assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
    const verdict = classifier.verdict(explained.kinds);
    assert.ok(Math.abs(verdict!.score - assessed.dermoscopy!.score) < 1e-5, `${verdict!.score} vs ${assessed.dermoscopy!.score}`);
    assert.ok(Math.abs(verdict!.clinicalScore! - assessed.dermoscopy!.clinicalScore!) < 1e-5);
    assert.equal(verdict!.kind, assessed.dermoscopy!.kind);
    Array.from(assessed.probabilities).forEach((p, k) => assert.ok(Math.abs(p - explained.probabilities[k]) < 1e-5));
  } finally {
    classifier.dispose();
  }
});

test('in a MobileNetV2 the gate reads blocks 5, 9 and 12 average-pooled beside the last pool (32 + 64 + 96 + 1280 features), survives a save and load, and refits', async () => {
  const { GATE_BLOCK_TAPS, gateTapLayers, pooledFeaturesLayer } = await import('../../core/dermoscopy-gate.ts');
  const model = buildModel('mobilenetv2', { inputSize: SIZE, seed: 3 });
  assert.deepEqual(
    gateTapLayers(model).map((l) => l.name),
    ['block05_add', 'block09_add', 'block12_add'],
  );
  assert.deepEqual(
    gateTapLayers(buildModel('compact', { inputSize: SIZE, seed: 3 })),
    [],
    'a model without those blocks reads its last pool alone',
  );
  const features = featureModel(model);
  const dims = features.outputs[0].shape[1]!;
  assert.equal(dims, 32 + 64 + 96 + 1280);
  const x = tf.randomUniform([2, SIZE, SIZE, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
  // The features by hand: the mean over the cells of each tapped block's output, then the head's pooled features.
  const taps = tf.model({
    inputs: model.inputs,
    outputs: [
      ...GATE_BLOCK_TAPS.map((n) => model.getLayer(n).output as tf.SymbolicTensor),
      pooledFeaturesLayer(model).output as tf.SymbolicTensor,
    ],
  });
  const want = tf.tidy(() => {
    const outs = taps.predict(x) as tf.Tensor[];
    return tf.concat([...outs.slice(0, 3).map((t) => tf.mean(t, [1, 2])), outs[3]], 1).arraySync() as number[][];
  });
  const got = tf.tidy(() => (features.predict(x) as tf.Tensor2D).arraySync());
  got.forEach((row, i) =>
    row.forEach((v, j) => assert.ok(Math.abs(v - want[i][j]) < 1e-4, `image ${i} feature ${j}: ${v} vs ${want[i][j]}`)),
  );

  const rng = makeRng(11);
  const kernel = Float32Array.from({ length: dims * 3 }, () => (rng() - 0.5) * 0.01);
  const gated = attachGate(model, kernel, [0.2, -0.1, 0]);
  const kinds = (m: tf.LayersModel) => tf.tidy(() => (m.predict(x) as tf.Tensor[])[gateOutputIndex(m)!].arraySync() as number[][]);
  const expected = want.map((f) => {
    const z = [0.2, -0.1, 0].map((b, c) => b + f.reduce((a, v, j) => a + v * kernel[j * 3 + c], 0));
    const e = z.map((v) => Math.exp(v - Math.max(...z)));
    return e.map((v) => v / e.reduce((a, w) => a + w, 0));
  });
  kinds(gated).forEach((p, i) =>
    p.forEach((v, c) => assert.ok(Math.abs(v - expected[i][c]) < 1e-4, `image ${i} kind ${c}: ${v} vs ${expected[i][c]}`)),
  );

  // Saved and loaded (model.json's topology carries the gate's poolings): the same kinds.
  let artifacts: tf.io.ModelArtifacts | undefined;
  await gated.save(
    tf.io.withSaveHandler(async (a) => ((artifacts = a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } })),
  );
  const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts!));
  assert.deepEqual(kinds(loaded), kinds(gated));
  // Refitted (as fit-gate does: the classifier alone, then a new gate): the gate's own poolings are not taken for the head's.
  const classifierOnly = tf.model({ inputs: loaded.inputs, outputs: loaded.outputs[1 - gateOutputIndex(loaded)!] });
  assert.equal(pooledFeaturesLayer(loaded).name, 'global_pool');
  const again = attachGate(classifierOnly, kernel, [0.2, -0.1, 0]);
  kinds(again).forEach((p, i) => p.forEach((v, c) => assert.ok(Math.abs(v - expected[i][c]) < 1e-4)));
  tf.dispose(x);
  loaded.dispose();
  model.dispose();
});

test("in a merged ensemble the gate reads the first member's blocks and pool: the same features, hence the same kinds, as that network alone", async () => {
  const { gateTapLayers, pooledFeaturesLayer } = await import('../../core/dermoscopy-gate.ts');
  const { mergeModels } = await import('../../trainer/model/merge.ts');
  const first = buildModel('mobilenetv2', { inputSize: SIZE, seed: 3 });
  const second = buildModel('mobilenetv2', { inputSize: SIZE, seed: 4 });
  const ensemble = await mergeModels([first, second]);
  assert.deepEqual(
    gateTapLayers(ensemble).map((l) => l.name),
    ['m0_block05_add', 'm0_block09_add', 'm0_block12_add'],
  );
  assert.equal(pooledFeaturesLayer(ensemble).name, 'm0_global_pool');
  const x = tf.randomUniform([2, SIZE, SIZE, 3], 0, 1, 'float32', 9) as tf.Tensor4D;
  const features = (m: tf.LayersModel) => tf.tidy(() => (featureModel(m).predict(x) as tf.Tensor2D).arraySync());
  const alone = features(first);
  const inEnsemble = features(ensemble);
  assert.equal(inEnsemble[0].length, 32 + 64 + 96 + 1280);
  inEnsemble.forEach((row, i) =>
    row.forEach((v, j) => assert.ok(Math.abs(v - alone[i][j]) < 1e-4, `image ${i} feature ${j}: ${v} vs ${alone[i][j]}`)),
  );
  // The gated ensemble keeps the members' average as its class output.
  const dims = inEnsemble[0].length;
  const gated = attachGate(ensemble, new Float32Array(dims * 3), [0, 0, 0]);
  const [p] = tf.tidy(() => (gated.predict(x) as tf.Tensor[]).map((t) => t.arraySync() as number[][]));
  const mean = tf.tidy(() => tf.div(tf.add(first.predict(x) as tf.Tensor, second.predict(x) as tf.Tensor), 2).arraySync() as number[][]);
  p.forEach((row, i) => row.forEach((v, c) => assert.ok(Math.abs(v - mean[i][c]) < 1e-5)));
  tf.dispose(x);
  [first, second, ensemble].forEach((m) => m.dispose());
});
