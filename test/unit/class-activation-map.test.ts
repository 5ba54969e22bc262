// core/class-activation-map.ts: the map splits the classifier's own logits exactly over the feature grid
// (softmax of its mean is the probability the classifier reports), for the compact model and MobileNetV2,
// with flip averaging and temperature; it leaks no tensors; models without a GAP head are refused.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import '@tensorflow/tfjs-backend-cpu';
import { tf } from '../../core/tf.ts';
import { buildModel } from '../../core/models.ts';
import { fromModel, type Classifier } from '../../core/classifier.ts';
import { PREPROCESS_VERSION, type RgbaImage } from '../../core/preprocess.ts';
import { CLASS_CODES } from '../../core/labels.ts';
import {
  canExplain,
  classActivationMaps,
  explainImage,
  findCamHead,
  normalizedMap,
  UnsupportedModelError,
} from '../../core/class-activation-map.ts';
import { MNV2_LAYER } from '../../core/mobilenet-v2.ts';

before(async () => {
  await tf.setBackend('cpu');
});

function image(width = 80, height = 60, mirrored = false): RgbaImage {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const sx = mirrored ? width - 1 - x : x;
      // A dark blob left of centre on a skin-coloured background, plus texture.
      const d = Math.hypot(sx - width * 0.35, y - height * 0.5);
      const dark = d < height * 0.25 ? 120 : 0;
      data.set([220 - dark + ((sx * 7 + y * 3) % 17), 180 - dark, 160 - dark + ((sx * y) % 11), 255], (y * width + x) * 4);
    }
  }
  return { data, width, height };
}

async function classifierOf(
  arch: 'compact' | 'mobilenetv2' | 'seed',
  inputSize: number,
  extra: { temperature?: number; tta?: 'none' | 'flip' } = {},
): Promise<Classifier> {
  const model = buildModel(arch, { inputSize, seed: 5 });
  model.setUserDefinedMetadata({
    dermlens: {
      version: 1,
      arch,
      inputSize,
      classes: [...CLASS_CODES],
      temperature: 1,
      tta: 'none',
      preprocess: PREPROCESS_VERSION,
      melanomaThreshold: null,
      ...extra,
    },
  });
  return fromModel(model, { warmUp: false });
}

const softmax = (z: number[]) => {
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
};

test("compact: the map of every class averages to its logit, so softmax(mean map) = the classifier's probabilities", async () => {
  const classifier = await classifierOf('compact', 64);
  const head = findCamHead(classifier.network);
  const x = tf.tidy(() => tf.randomUniform([1, 64, 64, 3], 0, 1, 'float32', 9) as tf.Tensor4D);
  const out = classActivationMaps(classifier.network, head, x, classifier.metadata);
  assert.deepEqual(out.maps.shape, [4, 4, 7], 'compact at 64 px has a 4x4 grid of 256 features');
  const grid = await out.maps.array();
  const means = CLASS_CODES.map((_, k) => grid.flat().reduce((a, cell) => a + cell[k], 0) / 16);
  const reported = await out.probabilities.data();
  const direct = tf.tidy(() => (classifier.network.predict(x) as tf.Tensor2D).dataSync());
  softmax(means).forEach((p, k) => {
    assert.ok(Math.abs(p - reported[k]) < 1e-5, `class ${k}: softmax(mean map) ${p} vs reported ${reported[k]}`);
    assert.ok(Math.abs(p - direct[k]) < 1e-5, `class ${k}: vs model.predict ${direct[k]}`);
  });
  tf.dispose([x, out.maps, out.probabilities]);
  classifier.dispose();
});

test('with flip averaging and a temperature, explain gives exactly the classify probabilities, and a mirror-symmetric map', async () => {
  const classifier = await classifierOf('compact', 64, { temperature: 0.8, tta: 'flip' });
  const start = tf.memory().numTensors;
  const explained = await explainImage(classifier, image());
  const mirrored = await explainImage(classifier, image(80, 60, true));
  assert.equal(tf.memory().numTensors, start, 'explain must not leak tensors');
  const classified = await classifier.classify(image());
  for (const p of classified) {
    const k = CLASS_CODES.indexOf(p.code);
    assert.ok(Math.abs(explained.probabilities[k] - p.probability) < 1e-6, `${p.code}: ${explained.probabilities[k]} vs ${p.probability}`);
  }
  assert.equal(explained.map.code, classified[0].code, 'the map explains the top class');
  assert.deepEqual(explained.crop, { x: 0, y: 0, width: 80, height: 60 });
  // The flip-averaged map of the mirror image is the mirror of the map.
  const { width, height } = explained.map;
  assert.equal(mirrored.map.code, explained.map.code);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const a = explained.map.values[y * width + x];
      const b = mirrored.map.values[y * width + (width - 1 - x)];
      assert.ok(Math.abs(a - b) < 1e-4, `cell ${y},${x}: ${a} vs mirrored ${b}`);
    }
  }
  const shown = normalizedMap(explained.map);
  assert.equal(Math.max(...shown), 1);
  assert.equal(Math.min(...shown), 0);
  classifier.dispose();
});

test('MobileNetV2: the features are found by the pooling layer (features_conv), and the decomposition holds', async () => {
  const classifier = await classifierOf('mobilenetv2', 64);
  const head = findCamHead(classifier.network);
  assert.equal(head.members.length, 1);
  assert.match(head.members[0].featuresName, new RegExp(`^${MNV2_LAYER.lastConv}`));
  assert.deepEqual(head.members[0].kernel.shape, [1280, 7]);
  const explained = await explainImage(classifier, image());
  assert.deepEqual([explained.map.height, explained.map.width], [2, 2]);
  const k = CLASS_CODES.indexOf(explained.map.code);
  assert.equal(explained.probabilities[k], Math.max(...explained.probabilities));
  classifier.dispose();
});

test("a merged ensemble: one map per network, averaged, so the mean map is the members' mean logit; probabilities the ensemble's own", async () => {
  const { mergeModels } = await import('../../trainer/model/merge.ts');
  const members = [buildModel('compact', { inputSize: 64, seed: 5 }), buildModel('compact', { inputSize: 64, seed: 6 })];
  const merged = await mergeModels(members);
  merged.setUserDefinedMetadata({
    dermlens: {
      version: 1,
      arch: 'ensemble of 2 compact',
      inputSize: 64,
      classes: [...CLASS_CODES],
      temperature: 1,
      tta: 'none',
      preprocess: PREPROCESS_VERSION,
      melanomaThreshold: null,
    },
  });
  const classifier = await fromModel(merged, { warmUp: false });
  const head = findCamHead(classifier.network);
  assert.deepEqual(
    head.members.map((m) => m.kernel.shape),
    [
      [256, 7],
      [256, 7],
    ],
  );
  const x = tf.tidy(() => tf.randomUniform([1, 64, 64, 3], 0, 1, 'float32', 9) as tf.Tensor4D);
  const out = classActivationMaps(classifier.network, head, x, classifier.metadata);
  const grid = await out.maps.array();
  const means = CLASS_CODES.map((_, k) => grid.flat().reduce((a, cell) => a + cell[k], 0) / 16);
  // Each member's logits by hand: the pooled features times its Dense layer.
  const logits = members.map((m) =>
    tf.tidy(() => {
      const pooled = tf.model({ inputs: m.inputs, outputs: m.layers.at(-2)!.output as tf.SymbolicTensor });
      const dense = m.layers.at(-1)!;
      const [kernel, bias] = dense.getWeights();
      return tf.add(tf.matMul(pooled.predict(x) as tf.Tensor2D, kernel), bias).arraySync() as number[][];
    }),
  );
  means.forEach((v, k) => {
    const want = (logits[0][0][k] + logits[1][0][k]) / 2;
    assert.ok(Math.abs(v - want) < 1e-4, `class ${k}: mean map ${v} vs the members' mean logit ${want}`);
  });
  const reported = await out.probabilities.data();
  // fromModel folds BatchNorm into a new network (the merged model is gone): compare with that network's own output.
  const direct = tf.tidy(() => (classifier.network.predict(x) as tf.Tensor2D).dataSync());
  reported.forEach((p, k) => assert.ok(Math.abs(p - direct[k]) < 1e-6, `class ${k}: ${p} vs the ensemble's own ${direct[k]}`));
  tf.dispose([x, out.maps, out.probabilities]);
  classifier.dispose();
  members.forEach((m) => m.dispose());
});

test('a model without a global-average-pooling head (the seed CNN) is refused with a reason', async () => {
  const classifier = await classifierOf('seed', 32);
  assert.equal(canExplain(classifier), false);
  await assert.rejects(
    explainImage(classifier, image()),
    (e: unknown) => e instanceof UnsupportedModelError && /global average pooling|Dense/.test((e as Error).message),
  );
  classifier.dispose();
});
