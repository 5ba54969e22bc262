// Non-square model inputs (issue 24): a W x H model sees the image's centre crop of exactly W:H, area-resized
// to W x H without squashing, under its own preprocessing version; square models keep today's mapping and
// version byte for byte. The metadata states the shape and readMetadata checks it against the input tensor.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import '@tensorflow/tfjs-backend-cpu';
import { tf } from '../../core/tf.ts';
import { buildModel } from '../../core/models.ts';
import { fromModel, metadataInputShape, readMetadata } from '../../core/classifier.ts';
import { dermlensMetadata } from '../../core/model-metadata.ts';
import { explainImage } from '../../core/class-activation-map.ts';
import { CLASS_CODES } from '../../core/labels.ts';
import { classifyPixels, warmUp } from '../../extension/shared/infer-with-heatmap.ts';
import {
  ASPECT_PREPROCESS_VERSION,
  centreCrop,
  canonicalInputSize,
  formatInputSize,
  inputCrop,
  inputShape,
  pixelsToTensor,
  preprocess,
  preprocessVersion,
  PREPROCESS_VERSION,
  type RgbaImage,
} from '../../core/preprocess.ts';

before(async () => {
  await tf.setBackend('cpu');
});

/** An RGBA image whose red channel is the column and green the row (so a pixel says where it came from). */
function coordinates(width: number, height: number): RgbaImage {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set([x, y, 100, 255], (y * width + x) * 4);
  return { data, width, height };
}

function close(actual: number, expected: number, what: string) {
  assert.ok(Math.abs(actual - expected) <= 1e-6, `${what}: ${actual} vs ${expected}`);
}

test('input sizes: a side, "WxH" or {width, height}; canonical form and version', () => {
  assert.deepEqual(inputShape(128), { width: 128, height: 128 });
  assert.deepEqual(inputShape('160x120'), { width: 160, height: 120 });
  assert.deepEqual(inputShape({ width: 32, height: 24 }), { width: 32, height: 24 });
  assert.equal(canonicalInputSize('96x96'), 96);
  assert.equal(canonicalInputSize({ width: 160, height: 120 }), '160x120');
  assert.equal(formatInputSize(128), '128');
  assert.equal(formatInputSize('192x144'), '192x144');
  for (const bad of [0, 12.5, '160x', 'x120', '160x0', '160 x 120'] as const) {
    assert.throws(() => inputShape(bad as never), /Invalid model input size/);
  }
  // Square inputs keep the one version every existing model, cache and card carries.
  assert.equal(PREPROCESS_VERSION, 'rgba-crop4:3-area-v1');
  assert.equal(preprocessVersion(96), PREPROCESS_VERSION);
  assert.equal(preprocessVersion({ width: 96, height: 96 }), PREPROCESS_VERSION);
  assert.equal(preprocessVersion('160x120'), ASPECT_PREPROCESS_VERSION);
  assert.notEqual(ASPECT_PREPROCESS_VERSION, PREPROCESS_VERSION);
});

test('a W x H input crops the image to exactly W:H (square inputs keep the at-most-4:3 crop)', () => {
  // 200x100 (2:1) for a 4:3 model: 133 of the 200 columns (round(100 * 4/3)), centred.
  assert.deepEqual(inputCrop(200, 100, '160x120'), { x: 33, y: 0, width: 133, height: 100 });
  // A 4:3 image is used whole; a portrait one loses rows, not columns.
  assert.deepEqual(inputCrop(600, 450, '160x120'), { x: 0, y: 0, width: 600, height: 450 });
  assert.deepEqual(inputCrop(100, 200, '32x24'), { x: 0, y: 62, width: 100, height: 75 });
  // A 600x450 photo at 16:9 keeps its middle 338 rows; for a square input the same photo is used whole.
  assert.deepEqual(inputCrop(600, 450, '64x36'), { x: 0, y: 56, width: 600, height: 338 });
  assert.deepEqual(inputCrop(600, 450, 64), centreCrop(600, 450));
  assert.deepEqual(inputCrop(400, 100, { width: 64, height: 64 }), { x: 133, y: 0, width: 133, height: 100 });
});

test('200x120 -> 40x30: crop columns 20..179, each output pixel the mean of a 4x4 block', () => {
  const out = preprocess(coordinates(200, 120), { width: 40, height: 30 });
  assert.equal(out.length, 30 * 40 * 3);
  for (const [ox, oy] of [
    [0, 0],
    [39, 0],
    [7, 11],
    [39, 29],
  ]) {
    const o = (oy * 40 + ox) * 3;
    // Columns 20 + 4ox .. 20 + 4ox + 3 average to 20 + 4ox + 1.5; rows 4oy .. 4oy + 3 to 4oy + 1.5.
    close(out[o], (20 + 4 * ox + 1.5) / 255, `red at ${ox},${oy}`);
    close(out[o + 1], (4 * oy + 1.5) / 255, `green at ${ox},${oy}`);
    close(out[o + 2], 100 / 255, `blue at ${ox},${oy}`);
  }
  // The string form and the object form are the same mapping.
  assert.deepEqual(preprocess(coordinates(200, 120), '40x30'), out);
});

test('120x200 (portrait) -> 40x30: rows 55..144 kept, 3x3 blocks, no squashing', () => {
  const out = preprocess(coordinates(120, 200), '40x30');
  for (const [ox, oy] of [
    [0, 0],
    [13, 21],
    [39, 29],
  ]) {
    const o = (oy * 40 + ox) * 3;
    close(out[o], (3 * ox + 1) / 255, `red at ${ox},${oy}`);
    close(out[o + 1], (55 + 3 * oy + 1) / 255, `green at ${ox},${oy}`);
  }
});

test('200x100 -> 32x24: the 133x100 crop from column 33, area weights over 4.156 columns and 4.167 rows', () => {
  const out = preprocess(coordinates(200, 100), '32x24');
  // Output column 0 covers crop columns [0, 133/32): whole columns 0..3 and 0.15625 of column 4; image columns 33..37.
  const scaleX = 133 / 32;
  const red0 = (33 + 34 + 35 + 36 + 37 * (scaleX - 4)) / scaleX;
  // Output row 0 covers rows [0, 100/24): rows 0..3 and 1/6 of row 4.
  const scaleY = 100 / 24;
  const green0 = (0 + 1 + 2 + 3 + 4 * (scaleY - 4)) / scaleY;
  close(out[0], red0 / 255, 'red at 0,0');
  close(out[1], green0 / 255, 'green at 0,0');
  // The last output column ends at the crop's right edge, image column 165.
  const last = (0 * 32 + 31) * 3;
  const lo = 31 * scaleX;
  const redLast = ((Math.ceil(lo) - lo) * (33 + Math.floor(lo)) + [1, 2, 3, 4].reduce((s, k) => s + 33 + Math.floor(lo) + k, 0)) / scaleX;
  close(out[last], redLast / 255, 'red at 31,0');
});

test('square inputs are unchanged: a number, {n, n} and "nxn" give the same bytes, and the 4:3 squash', () => {
  const img = coordinates(200, 120);
  const byNumber = preprocess(img, 16);
  assert.deepEqual(preprocess(img, { width: 16, height: 16 }), byNumber);
  assert.deepEqual(preprocess(img, '16x16'), byNumber);
  // The square model still squeezes the 160x120 crop: 10 columns and 7.5 rows per output pixel.
  close(byNumber[0], (20 + 4.5) / 255, 'red at 0,0');
  close(byNumber[1], (0 + 1 + 2 + 3 + 4 + 5 + 6 + 0.5 * 7) / 7.5 / 255, 'green at 0,0');
  const t = pixelsToTensor([img], '40x30');
  assert.deepEqual(t.shape, [1, 30, 40, 3]);
  t.dispose();
});

test('models take a non-square input as [height, width, 3]', () => {
  for (const arch of ['compact', 'seed', 'mobilenetv2'] as const) {
    const model = buildModel(arch, { inputSize: { width: 40, height: 32 }, seed: 1 });
    assert.deepEqual(model.inputs[0].shape, [null, 32, 40, 3], arch);
    model.dispose();
  }
  assert.throws(() => buildModel('compact', { inputSize: '32x8' }), /Input size must be an integer >= 16 \(or WxH, each >= 16\), got 32x8/);
});

test('metadata: a square model states inputSize, a non-square one inputWidth/inputHeight and its own version', () => {
  assert.deepEqual(
    Object.entries(dermlensMetadata({ arch: 'compact', inputSize: 96 })).filter(([k]) => k.startsWith('input') || k === 'preprocess'),
    [
      ['inputSize', 96],
      ['preprocess', PREPROCESS_VERSION],
    ],
  );
  const wide = dermlensMetadata({ arch: 'compact', inputSize: '160x120' });
  assert.equal(wide.inputSize, undefined);
  assert.equal(wide.inputWidth, 160);
  assert.equal(wide.inputHeight, 120);
  assert.equal(wide.preprocess, ASPECT_PREPROCESS_VERSION);
  assert.ok(!('inputSize' in wide), 'no inputSize key at all on a non-square model');
});

test('readMetadata checks the stated input against the input tensor, with a clear error', () => {
  const model = buildModel('compact', { inputSize: '32x24', seed: 2 });
  /** The model's metadata with `fields` changed (undefined: the key removed). */
  const set = (fields: object) => {
    const merged: Record<string, unknown> = { ...dermlensMetadata({ arch: 'compact', inputSize: '32x24' }), ...fields };
    for (const k of Object.keys(merged)) if (merged[k] === undefined) delete merged[k];
    model.setUserDefinedMetadata({ dermlens: merged } as {});
  };
  set({});
  const read = readMetadata(model);
  assert.deepEqual(metadataInputShape(read), { width: 32, height: 24 });
  assert.equal(read.preprocess, ASPECT_PREPROCESS_VERSION);

  set({ inputWidth: 24, inputHeight: 32 });
  assert.throws(() => readMetadata(model), /says input 24x32 \(width x height\) but the model's input tensor is 32x24/);
  set({ inputWidth: undefined, inputHeight: undefined, inputSize: 32 });
  assert.throws(() => readMetadata(model), /says inputSize 32 \(a square input\) but the model's input tensor is 32x24/);
  set({ inputHeight: undefined });
  assert.throws(() => readMetadata(model), /inputWidth without inputHeight/);
  set({ preprocess: PREPROCESS_VERSION });
  assert.throws(
    () => readMetadata(model),
    /trained with preprocessing "rgba-crop4:3-area-v1" but this code implements "rgba-crop-input-aspect-area-v1" for a 32x24 px input/,
  );
  // A plain export without DermLens metadata gets the shape's own version.
  model.setUserDefinedMetadata({});
  assert.equal(readMetadata(model).preprocess, ASPECT_PREPROCESS_VERSION);
  model.dispose();

  // A square model's metadata must agree with its tensor too; its version stays the square one.
  const square = buildModel('compact', { inputSize: 32, seed: 2 });
  square.setUserDefinedMetadata({ dermlens: dermlensMetadata({ arch: 'compact', inputSize: 32 }) });
  assert.deepEqual(metadataInputShape(readMetadata(square)), { width: 32, height: 32 });
  assert.equal(readMetadata(square).inputSize, 32);
  square.setUserDefinedMetadata({
    dermlens: { ...dermlensMetadata({ arch: 'compact', inputSize: 32 }), preprocess: ASPECT_PREPROCESS_VERSION },
  });
  assert.throws(() => readMetadata(square), /implements "rgba-crop4:3-area-v1" for a 32 px input/);
  square.setUserDefinedMetadata({ dermlens: dermlensMetadata({ arch: 'compact', inputSize: 48 }) });
  assert.throws(() => readMetadata(square), /says inputSize 48 \(a square input\) but the model's input tensor is 32x32/);
  square.dispose();
});

test('a non-square classifier classifies and explains: the map covers the W:H crop, no tensors leak', async () => {
  const model = buildModel('compact', { inputSize: '48x36', seed: 4 });
  model.setUserDefinedMetadata({ dermlens: dermlensMetadata({ arch: 'compact', inputSize: '48x36' }) });
  const classifier = await fromModel(model);
  assert.deepEqual(classifier.inputShape, { width: 48, height: 36 });
  const img = coordinates(200, 100);
  const before = tf.memory().numTensors;
  const predictions = await classifier.classify(img);
  assert.equal(predictions.length, 7);
  const explained = await explainImage(classifier, img);
  assert.deepEqual(explained.crop, { x: 33, y: 0, width: 133, height: 100 });
  // The compact net downsamples by 16 with same padding: 48x36 gives a grid 3 wide and 3 high (36/16 rounds up).
  assert.equal(explained.map.width, 3);
  assert.equal(explained.map.height, 3);
  const [p] = await classifier.classifyInputs([preprocess(img, classifier.inputShape)]);
  explained.probabilities.forEach((v, k) => close(v, p[k], `class ${k}`));
  assert.equal(tf.memory().numTensors, before, 'no tensors leak');
  classifier.dispose();
});

test("the extension's and VS Code's pass (classifyPixels) places the heatmap over the W:H crop", async () => {
  const model = buildModel('compact', { inputSize: '48x36', seed: 4 });
  model.setUserDefinedMetadata({ dermlens: dermlensMetadata({ arch: 'compact', inputSize: '48x36' }) });
  const classifier = await fromModel(model);
  await warmUp(classifier);
  const img = coordinates(100, 200);
  const before = tf.memory().numTensors;
  const result = await classifyPixels(classifier, img, { started: 0, fetched: 0, decoded: 0, modelVersion: 'test', untrained: true });
  assert.equal(tf.memory().numTensors, before, 'no tensors leak');
  // A portrait 100x200 image: the 4:3 crop is all 100 columns and the middle 75 rows.
  assert.deepEqual(result.heatmap?.crop, { x: 0, y: 62, width: 100, height: 75 });
  const [p] = await classifier.classifyInputs([preprocess(img, classifier.inputShape)]);
  assert.ok(result.predictions.every((r) => Math.abs(r.probability - p[CLASS_CODES.indexOf(r.code)]) < 1e-6));
  classifier.dispose();
});
