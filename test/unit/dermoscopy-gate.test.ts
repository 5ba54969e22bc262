// The dermoscopy gate (core/dermoscopy-gate.ts, trainer/train/fit-gate.ts): a second output of the same
// forward pass, read by the classifier with the threshold from the metadata; its logistic regression
// separates separable features and its threshold flags the share it was chosen for.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import '@tensorflow/tfjs-backend-cpu';
import { tf } from '../../core/tf.ts';
import { buildModel } from '../../core/models.ts';
import { attachGate, featureModel, gateOutputIndex, GATE_LAYER } from '../../core/dermoscopy-gate.ts';
import { fromModel, predictProbabilities, predictWithGate } from '../../core/classifier.ts';
import { dermlensMetadata } from '../../core/model-metadata.ts';
import { fitLogistic, thresholdForFlagRate } from '../../trainer/train/fit-gate.ts';
import { makeRng } from '../../trainer/data/rng.ts';

before(async () => {
  await tf.setBackend('cpu');
});

const SIZE = 32;

test('the gate is a second output of the same forward pass: class probabilities unchanged, score = sigmoid(features . w + b)', () => {
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
    const { probabilities, dermoscopy } = predictWithGate(gated, x, { temperature: 1, tta: 'flip' });
    const plain = predictProbabilities(model, x, { temperature: 1, tta: 'flip' });
    assert.deepEqual(Array.from(probabilities.dataSync()), Array.from(plain.dataSync()), 'the classification is the same');
    const f = tf.tidy(() => (features.predict(x) as tf.Tensor2D).arraySync());
    const want = f.map((row) => 1 / (1 + Math.exp(-(row.reduce((a, v, j) => a + v * kernel[j], 0) + 0.3))));
    const got = Array.from(dermoscopy!.dataSync());
    want.forEach((w, i) => assert.ok(Math.abs(got[i] - w) < 1e-5, `image ${i}: ${got[i]} vs ${w}`));
    tf.dispose([probabilities, dermoscopy!, plain]);
    assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
    x.dispose();
  } finally {
    model.dispose();
  }
});

test('the classifier reads the gate with the threshold from the metadata, and refuses a gate without one', async () => {
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

test('fitLogistic separates two clouds and the threshold flags the share it was chosen for', () => {
  const rng = makeRng(9);
  const dims = 5;
  const n = 200;
  const x = new Float32Array(n * dims);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i < 150 ? 1 : 0; // imbalanced, as HAM10000 against the non-dermoscopic set
    for (let j = 0; j < dims; j++) x[i * dims + j] = rng() - 0.5 + (labels[i] ? 2 : -2) * (j === 0 ? 1 : 0) + 10;
  }
  const before = tf.memory().numTensors;
  const { kernel, bias } = fitLogistic(x, labels, dims, { steps: 200 });
  assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
  const scores = Array.from({ length: n }, (_, i) => 1 / (1 + Math.exp(-(bias + kernel.reduce((a, k, j) => a + k * x[i * dims + j], 0)))));
  assert.ok(scores.slice(0, 150).every((s) => s > 0.5) && scores.slice(150).every((s) => s < 0.5), 'separated');
  const t = thresholdForFlagRate(scores.slice(0, 150), 0.02);
  assert.equal(scores.slice(0, 150).filter((s) => s < t).length, 3, '2% of 150 positives below the threshold');
});

test('"where it looked" reads the gate in its own pass: the same score as the classifier, the same probabilities', async () => {
  const { explainInput } = await import('../../core/class-activation-map.ts');
  const model = buildModel('compact', { inputSize: SIZE, seed: 3 });
  const dims = featureModel(model).outputs[0].shape[1]!;
  const rng = makeRng(8);
  const gated = attachGate(
    model,
    Float32Array.from({ length: dims }, () => rng() - 0.5),
    -0.2,
  );
  gated.setUserDefinedMetadata({
    dermlens: { ...dermlensMetadata({ arch: 'compact', inputSize: SIZE, tta: 'flip' }), dermoscopyThreshold: 0.5 },
  });
  const classifier = await fromModel(gated, { warmUp: false });
  try {
    const input = Float32Array.from({ length: SIZE * SIZE * 3 }, () => rng());
    const [assessed] = await classifier.assessInputs([input]);
    const before = tf.memory().numTensors;
    const explained = await explainInput(classifier, input, { x: 0, y: 0, width: SIZE, height: SIZE });
    assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
    assert.ok(
      Math.abs(explained.dermoscopy! - assessed.dermoscopy!.score) < 1e-5,
      `${explained.dermoscopy} vs ${assessed.dermoscopy!.score}`,
    );
    Array.from(assessed.probabilities).forEach((p, k) => assert.ok(Math.abs(p - explained.probabilities[k]) < 1e-5));
  } finally {
    classifier.dispose();
  }
});
