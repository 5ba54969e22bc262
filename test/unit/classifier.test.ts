import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import '@tensorflow/tfjs-backend-cpu';
import { tf } from '../../core/tf.ts';
import { buildModel } from '../../core/models.ts';
import { fromModel, load, predictProbabilities, toPredictions } from '../../core/classifier.ts';
import { PREPROCESS_VERSION, type RgbaImage } from '../../core/preprocess.ts';
import { CLASS_CODES } from '../../core/labels.ts';

before(async () => {
  await tf.setBackend('cpu');
});

/** Saves a model into memory and returns an IOHandler that loads it back. */
async function inMemory(model: tf.LayersModel): Promise<tf.io.IOHandler> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return tf.io.fromMemory(artifacts!);
}

function testImage(): RgbaImage {
  const width = 40,
    height = 30;
  const data = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < width * height; i++) data.set([(i * 7) % 256, (i * 13) % 256, (i * 29) % 256, 255], i * 4);
  return { data, width, height };
}

test('load -> classify gives all 7 classes, sorted, summing to 1, without leaking tensors', async () => {
  const model = buildModel('compact', { inputSize: 32, seed: 1 });
  const classifier = await load(await inMemory(model));
  assert.deepEqual(classifier.inputShape, { width: 32, height: 32 });
  const start = tf.memory().numTensors;
  const predictions = await classifier.classify(testImage());
  await classifier.classify(testImage());
  assert.equal(tf.memory().numTensors, start, 'classify must not leak tensors');
  assert.equal(predictions.length, 7);
  assert.deepEqual([...predictions.map((p) => p.code)].sort(), [...CLASS_CODES].sort());
  for (let i = 1; i < 7; i++) assert.ok(predictions[i - 1].probability >= predictions[i].probability);
  const sum = predictions.reduce((a, p) => a + p.probability, 0);
  assert.ok(Math.abs(sum - 1) < 1e-5, `sum ${sum}`);
  classifier.dispose();
  model.dispose();
  await assert.rejects(classifier.classify(testImage()), /disposed/);
});

test('temperature scaling and flip averaging follow their definitions', async () => {
  const model = buildModel('compact', { inputSize: 32, seed: 2 });
  const x = tf.randomUniform([2, 32, 32, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
  const plain = predictProbabilities(model, x, { temperature: 1, tta: 'none' });
  const hot = predictProbabilities(model, x, { temperature: 2, tta: 'none' });
  const flipped = model.predict(tf.reverse(x, 2)) as tf.Tensor2D;
  const tta = predictProbabilities(model, x, { temperature: 1, tta: 'flip' });
  const p = await plain.array(),
    h = await hot.array(),
    f = await flipped.array(),
    t = await tta.array();
  for (let i = 0; i < 2; i++) {
    // softmax(log p / 2) is proportional to sqrt(p).
    const z = p[i].reduce((a, v) => a + Math.sqrt(v), 0);
    p[i].forEach((v, c) => assert.ok(Math.abs(h[i][c] - Math.sqrt(v) / z) < 1e-5));
    p[i].forEach((v, c) => assert.ok(Math.abs(t[i][c] - (v + f[i][c]) / 2) < 1e-6));
  }
  tf.dispose([x, plain, hot, flipped, tta]);
  model.dispose();
});

test('metadata is read and checked', async () => {
  const model = buildModel('compact', { inputSize: 32, seed: 3 });
  model.setUserDefinedMetadata({
    dermlens: {
      version: 1,
      arch: 'compact',
      inputSize: 32,
      classes: [...CLASS_CODES],
      temperature: 1.5,
      tta: 'flip',
      preprocess: PREPROCESS_VERSION,
    },
  });
  const classifier = await load(await inMemory(model), { warmUp: false });
  assert.equal(classifier.metadata.temperature, 1.5);
  assert.equal(classifier.metadata.tta, 'flip');
  classifier.dispose();

  model.setUserDefinedMetadata({ dermlens: { preprocess: 'something-else' } });
  await assert.rejects(load(await inMemory(model)), /trained with preprocessing "something-else"/);
  model.dispose();
});

test('a model with the wrong number of outputs is refused', async () => {
  const wrong = tf.sequential({
    layers: [tf.layers.flatten({ inputShape: [16, 16, 3] }), tf.layers.dense({ units: 3, activation: 'softmax' })],
  });
  await assert.rejects(load(await inMemory(wrong)), /3 outputs; DermLens needs 7/);
  wrong.dispose();
});

test('toPredictions sorts and names', () => {
  const preds = toPredictions([0.1, 0.05, 0.05, 0.05, 0.6, 0.1, 0.05]);
  assert.equal(preds[0].code, 'mel');
  assert.equal(preds[0].name, 'Melanoma');
  assert.equal(preds[0].group, 'malignant');
});

test('melanoma alert follows the stored threshold', async () => {
  const { melanomaAlert } = await import('../../core/classifier.ts');
  const p = [0.3, 0.05, 0.05, 0.05, 0.25, 0.25, 0.05]; // mel = 0.25, not the top class
  assert.equal(melanomaAlert(p, 0.2), true);
  assert.equal(melanomaAlert(p, 0.25), true);
  assert.equal(melanomaAlert(p, 0.3), false);
  assert.equal(melanomaAlert(p, null), false);
  const model = buildModel('compact', { inputSize: 32, seed: 4 });
  model.setUserDefinedMetadata({ dermlens: { melanomaThreshold: 0.27 } });
  const classifier = await load(await inMemory(model), { warmUp: false });
  assert.equal(classifier.metadata.melanomaThreshold, 0.27);
  classifier.dispose();
  model.setUserDefinedMetadata({ dermlens: { melanomaThreshold: 1.5 } });
  await assert.rejects(load(await inMemory(model)), /melanoma threshold must be in \(0, 1\]/);
  model.dispose();
});

test('load() folds BatchNorm into the convs: same probabilities, and the unfolded copy is freed', async () => {
  const model = buildModel('compact', { inputSize: 32, seed: 4 });
  const handler = await inMemory(model);
  model.dispose();
  const start = tf.memory().numTensors;
  const folded = await load(handler, { warmUp: false });
  const plain = await load(handler, { warmUp: false, foldBatchNorm: false });
  const foldedTensors = tf.memory().numTensors - start - plain['requireModel']().weights.length;
  assert.equal(foldedTensors, folded['requireModel']().weights.length, 'only the folded weights stay in memory');
  assert.ok(folded['requireModel']().layers.length < plain['requireModel']().layers.length);
  const [a] = await folded.classifyInputs([new Float32Array(32 * 32 * 3).map((_, i) => (i % 97) / 97)]);
  const [b] = await plain.classifyInputs([new Float32Array(32 * 32 * 3).map((_, i) => (i % 97) / 97)]);
  a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) < 1e-5, `class ${i}: ${v} vs ${b[i]}`));
  folded.dispose();
  plain.dispose();
  assert.equal(tf.memory().numTensors, start, 'nothing left after dispose');
});

test('fromModel() prepares an in-memory model as load() does and owns it: folded, original freed, a rejected one disposed', async () => {
  const start = tf.memory().numTensors;
  const classifier = await fromModel(buildModel('compact', { inputSize: 32, seed: 4 }), { warmUp: false });
  const model = classifier['requireModel']();
  assert.equal(model.layers.filter((l) => l.getClassName() === 'BatchNormalization').length, 0, 'folded');
  assert.equal(tf.memory().numTensors - start, model.weights.length, 'only the folded weights stay in memory');
  const [probs] = await classifier.classifyInputs([new Float32Array(32 * 32 * 3).fill(0.5)]);
  assert.ok(Math.abs(probs.reduce((a, b) => a + b, 0) - 1) < 1e-5);
  classifier.dispose();
  assert.equal(tf.memory().numTensors, start);

  const wrong = tf.sequential({
    layers: [tf.layers.flatten({ inputShape: [16, 16, 3] }), tf.layers.dense({ units: 3, activation: 'softmax' })],
  });
  await assert.rejects(fromModel(wrong), /3 outputs; DermLens needs 7/);
  assert.equal(tf.memory().numTensors, start, 'the refused model was disposed');
});
