// The published ImageNet MobileNetV2 TFLite files (../shared/pretrained, not in the repository):
// converted, they give the TFLite interpreter's top-1 on every check photo, and core's MobileNetV2
// built in code computes the same features once their weights are copied in. Skipped, with the reason
// printed, when ../shared is not there.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tf } from '../../core/tf.ts';
import {
  buildMobileNetV2,
  copyMobileNetV2Backbone,
  backboneRescaling,
  initialiseBatchNormFromData,
  MNV2_LAYER,
} from '../../core/mobilenet-v2.ts';
import { initBackend } from '../../trainer/backends/select.ts';
import { convertTfliteFile, KNOWN_BACKBONES } from '../../trainer/model/backbone.ts';
import { decodeImage } from '../../trainer/data/images.ts';
import { decodeBmp24 } from '../helpers/bmp.ts';
import type { RgbaImage } from '../../core/preprocess.ts';

const DIR = join(import.meta.dirname, '../../../shared/pretrained/mobilenet_v2_imagenet');
const FILES = ['mobilenet_v2_1.0_224_quant.tflite', 'tf2_mobilenet_v2_1.0_224_ptq.tflite'];
const missing =
  FILES.every((f) => existsSync(join(DIR, f))) && existsSync(join(DIR, 'check/expected.json'))
    ? false
    : `the pretrained MobileNetV2 files are not at ${DIR} (data kept outside the repository)`;
if (missing) console.log(`# skipping imagenet-backbone tests: ${missing}`);

before(async () => {
  if (!missing) await initBackend('auto', { log: null });
});

type Expected = Record<string, { top3: Record<string, Array<{ index: number; label: string; probability: number }>> }>;

async function photo(name: string): Promise<RgbaImage> {
  const path = join(DIR, 'check', name);
  return name.endsWith('.bmp') ? decodeBmp24(readFileSync(path), name) : decodeImage(path);
}

/** The interpreter's input: the whole photo, bilinear-resized to 224, as [0, 1] RGB. */
function toInput(image: RgbaImage): tf.Tensor4D {
  return tf.tidy(() => {
    const rgba = tf.tensor3d(Uint8Array.from(image.data), [image.height, image.width, 4]);
    const rgb = tf.cast(tf.slice(rgba, [0, 0, 0], [image.height, image.width, 3]), 'float32');
    return tf.expandDims(tf.div(tf.image.resizeBilinear(rgb as tf.Tensor3D, [224, 224]), 255), 0) as tf.Tensor4D;
  });
}

for (const file of FILES) {
  test(`${file}: the converted network gives the interpreter's top-1 on every check photo`, { skip: missing }, async () => {
    const expected = (JSON.parse(readFileSync(join(DIR, 'check/expected.json'), 'utf8')) as Expected)[file].top3;
    const { model, info } = await convertTfliteFile(join(DIR, file));
    try {
      assert.equal(info.knownAs, file, 'the sha256 identifies the file');
      assert.equal(KNOWN_BACKBONES[info.sha256].name, file);
      assert.deepEqual(Object.keys(info.weightQuantization), [file.includes('ptq') ? 'per-channel' : 'per-tensor']);
      const photos = Object.keys(expected);
      assert.ok(photos.length >= 9);
      for (const name of photos) {
        const x = toInput(await photo(name));
        const before = tf.memory().numTensors;
        const probs = tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync());
        assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
        x.dispose();
        assert.equal(probs.length, 1001);
        const top = probs.indexOf(Math.max(...probs));
        assert.equal(
          top,
          expected[name][0].index,
          `${name}: top-1 ${top} (p ${probs[top].toFixed(3)}), interpreter ${expected[name][0].index} ${expected[name][0].label}`,
        );
      }
    } finally {
      model.dispose();
    }
  });
}

test(
  "core/mobilenet-v2 built in code computes the converted backbone's features once its weights are copied in",
  { skip: missing },
  async () => {
    const { model: backbone } = await convertTfliteFile(join(DIR, FILES[0]));
    const built = buildMobileNetV2({ inputSize: 224, rescaling: backboneRescaling(backbone) });
    try {
      assert.equal(copyMobileNetV2Backbone(built, backbone), 52);
      // The converted graph's pooled 1280 features are the input of its 1x1 ImageNet classifier conv.
      const convs = backbone.layers.filter((l) => l.getClassName() === 'Conv2D');
      const imagenetConv = convs[convs.length - 1];
      const backboneFeatures = tf.model({ inputs: backbone.inputs, outputs: imagenetConv.input as tf.SymbolicTensor });
      const builtFeatures = tf.model({ inputs: built.inputs, outputs: built.getLayer(MNV2_LAYER.pool).output as tf.SymbolicTensor });
      const x = toInput(await photo('parrot.jpg'));
      const [a, b] = tf.tidy(() => [
        tf.reshape(backboneFeatures.predict(x) as tf.Tensor, [-1]).dataSync(),
        tf.reshape(builtFeatures.predict(x) as tf.Tensor, [-1]).dataSync(),
      ]);
      x.dispose();
      assert.equal(b.length, 1280);
      let maxDiff = 0;
      a.forEach((v: number, i: number) => {
        maxDiff = Math.max(maxDiff, Math.abs(v - b[i]));
      });
      assert.ok(maxDiff < 1e-3, `features differ by up to ${maxDiff}`);
      assert.ok(Math.max(...a) > 0.1, 'the features are not all zero');
    } finally {
      backbone.dispose();
      built.dispose();
    }
  },
);

test('re-added BatchNorm, initialised from data, starts as the folded pretrained network', { skip: missing }, async () => {
  const { model: backbone } = await convertTfliteFile(join(DIR, FILES[0]));
  const rescaling = backboneRescaling(backbone);
  const folded = buildMobileNetV2({ inputSize: 128, rescaling });
  const withBn = buildMobileNetV2({ inputSize: 128, rescaling, normalization: 'batchnorm' });
  try {
    copyMobileNetV2Backbone(folded, backbone);
    copyMobileNetV2Backbone(withBn, backbone);
    const photos = await Promise.all(['parrot.jpg', 'owl.jpg', 'hot_dog.jpg', 'cat.bmp'].map(photo));
    const x = tf.tidy(() => tf.image.resizeBilinear(tf.concat(photos.map(toInput)), [128, 128]) as tf.Tensor4D);
    const before = tf.memory().numTensors;
    assert.equal(initialiseBatchNormFromData(withBn, x), 52);
    assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
    const features = (m: tf.LayersModel) =>
      tf.tidy(() =>
        (
          tf.model({ inputs: m.inputs, outputs: m.getLayer(MNV2_LAYER.pool).output as tf.SymbolicTensor }).predict(x) as tf.Tensor
        ).dataSync(),
      );
    const [a, b] = [features(folded), features(withBn)];
    x.dispose();
    const scale = Math.max(...Array.from(a, Math.abs));
    let maxDiff = 0;
    a.forEach((v: number, i: number) => {
      maxDiff = Math.max(maxDiff, Math.abs(v - b[i]));
    });
    assert.ok(scale > 0.1, 'the features are not all zero');
    assert.ok(maxDiff < 1e-3 * scale, `features differ by up to ${maxDiff} (scale ${scale})`);
  } finally {
    backbone.dispose();
    folded.dispose();
    withBn.dispose();
  }
});
