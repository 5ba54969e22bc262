import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import '@tensorflow/tfjs-backend-cpu';
import { tf } from '../../core/tf.ts';
import {
  applyAugment,
  augmentBatch,
  augmentPixels,
  centredFieldOfView,
  drawFieldOfView,
  FIELD_OF_VIEW_RANGES,
  IDENTITY_PARAMS,
  makeRng,
  ORIGINAL_AUGMENT,
  sampleAugmentParams,
  STRONG_AUGMENT,
  type AugmentOptions,
  type ImageAugmentParams,
} from '../../trainer/train/augment.ts';

before(async () => {
  await tf.setBackend('cpu');
});

const NO_AUGMENT: AugmentOptions = { rotation: 0, shift: 0, zoom: 0, hflip: false, vflip: false, colorJitter: 0 };

/** A batch with structure (gradients + noise) so warps and flips are visible. */
function sampleBatch(batch = 4, h = 12, w = 16): tf.Tensor4D {
  return tf.tidy(() => {
    const rows = tf.reshape(tf.linspace(0, 1, h), [1, h, 1, 1]);
    const cols = tf.reshape(tf.linspace(0, 1, w), [1, 1, w, 1]);
    const noise = tf.randomUniform([batch, h, w, 3], 0, 1, 'float32', 7);
    return tf.clipByValue(tf.add(tf.mul(tf.add(rows, cols), 0.4), tf.mul(noise, 0.2)), 0, 1) as tf.Tensor4D;
  });
}

const maxAbsDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
const params = (overrides: Partial<ImageAugmentParams>): ImageAugmentParams => ({ ...IDENTITY_PARAMS, ...overrides });

test('identity options give the input back exactly, as a new tensor', () => {
  const x = sampleBatch();
  const y = augmentBatch(x, makeRng(1), NO_AUGMENT);
  assert.notEqual(y, x);
  assert.deepEqual(y.shape, x.shape);
  assert.equal(y.dtype, 'float32');
  assert.deepEqual(Array.from(y.dataSync()), Array.from(x.dataSync()));
  tf.dispose([x, y]);
});

test('hflip mirrors left-right and vflip top-bottom, exactly', () => {
  tf.tidy(() => {
    const x = sampleBatch(2);
    const h = applyAugment(x, [params({ hflip: true }), params({ hflip: true })]);
    const v = applyAugment(x, [params({ vflip: true }), params({ vflip: true })]);
    const both = applyAugment(x, [params({ hflip: true, vflip: true }), params({})]);
    assert.equal(maxAbsDiff(h, tf.reverse(x, 2)), 0);
    assert.equal(maxAbsDiff(v, tf.reverse(x, 1)), 0);
    assert.equal(maxAbsDiff(tf.slice(both, [0], [1]), tf.reverse(tf.slice(x, [0], [1]), [1, 2])), 0);
    assert.equal(maxAbsDiff(tf.slice(both, [1], [1]), tf.slice(x, [1], [1])), 0);
  });
});

test('a 180-degree rotation equals both flips; a 90-degree one of a square image equals transpose + flip', () => {
  tf.tidy(() => {
    const x = sampleBatch(1, 10, 10);
    const r180 = applyAugment(x, [params({ angle: Math.PI })]);
    assert.ok(maxAbsDiff(r180, tf.reverse(x, [1, 2])) < 1e-5);
    const r90 = applyAugment(x, [params({ angle: Math.PI / 2 })]);
    // Output (y, x) samples the source at (x_src, y_src) = (cx - (y - cy), cy + (x - cx)): source row x, column H-1-y.
    const expected = tf.reverse(tf.transpose(x, [0, 2, 1, 3]), 1);
    assert.ok(maxAbsDiff(r90, expected) < 1e-5);
  });
});

test('warps match tf.image.transform (bilinear) image by image for both fill modes', () => {
  const x = sampleBatch(3, 12, 16);
  const rng = makeRng(5);
  for (const fillMode of ['nearest', 'reflect'] as const) {
    const p = sampleAugmentParams(3, 12, 16, rng, { ...STRONG_AUGMENT, colorJitter: 0, fillMode });
    const ours = applyAugment(x, p, fillMode);
    p.forEach((q, b) => {
      // The projective matrix tf.image.transform wants: output (x, y) -> source (a0 x + a1 y + a2, b0 x + b1 y + b2).
      const [cx, cy] = [(16 - 1) / 2, (12 - 1) / 2];
      const fx = (q.hflip ? -1 : 1) * q.zoomX;
      const fy = (q.vflip ? -1 : 1) * q.zoomY;
      const [c, s] = [Math.cos(q.angle), Math.sin(q.angle)];
      const a0 = c * fx,
        a1 = -s * fy,
        b0 = s * fx,
        b1 = c * fy;
      const m = [a0, a1, cx + q.shiftX - a0 * cx - a1 * cy, b0, b1, cy + q.shiftY - b0 * cx - b1 * cy, 0, 0];
      // Batch of one: tfjs 4.22's cpu Transform kernel only handles the first image of a batch.
      const reference = tf.tidy(() => tf.image.transform(tf.slice(x, [b], [1]), tf.tensor2d([m]), 'bilinear', fillMode));
      const mine = tf.slice(ours, [b], [1]);
      assert.ok(maxAbsDiff(mine, reference) < 1e-5, `${fillMode} image ${b}: ${maxAbsDiff(mine, reference)}`);
      tf.dispose([reference, mine]);
    });
    ours.dispose();
  }
  x.dispose();
});

test('colour jitter follows the brightness / contrast / saturation formulas', () => {
  const x = sampleBatch(1, 6, 6);
  const q = params({ brightness: 1.3, contrast: 0.8, saturation: 1.2 });
  const ours = applyAugment(x, [q]);
  // Reference written with tf ops, independently of the JS loop.
  const reference = tf.tidy(() => {
    const luma = (t: tf.Tensor) => tf.sum(tf.mul(t, tf.tensor1d([0.299, 0.587, 0.114])), -1, true);
    const b = tf.clipByValue(tf.mul(x, 1.3), 0, 1);
    const mean = tf.mean(luma(b));
    const c = tf.clipByValue(tf.add(mean, tf.mul(tf.sub(b, mean), 0.8)), 0, 1);
    const g = luma(c);
    return tf.clipByValue(tf.add(g, tf.mul(tf.sub(c, g), 1.2)), 0, 1);
  });
  assert.ok(maxAbsDiff(ours, reference) < 1e-5, String(maxAbsDiff(ours, reference)));
  // A pure gray image is untouched by saturation.
  const gray = tf.fill([1, 4, 4, 3], 0.4) as tf.Tensor4D;
  const sat = applyAugment(gray, [params({ saturation: 1.5 })]);
  assert.ok(maxAbsDiff(sat, gray) < 1e-6);
  tf.dispose([x, ours, reference, gray, sat]);
});

test('random recipes: values stay in [0, 1], shapes and dtype kept, no tensors leak', () => {
  const x = sampleBatch(8, 16, 16);
  const extremes = tf.tidy(() => tf.concat([tf.zeros([2, 16, 16, 3]), tf.ones([2, 16, 16, 3])]) as tf.Tensor4D);
  const before = tf.memory().numTensors;
  const rng = makeRng(3);
  for (const recipe of [ORIGINAL_AUGMENT, STRONG_AUGMENT, { ...STRONG_AUGMENT, colorJitter: 1 }]) {
    for (const input of [x, extremes]) {
      const y = augmentBatch(input, rng, recipe);
      assert.deepEqual(y.shape, input.shape);
      assert.equal(y.dtype, 'float32');
      const values = y.dataSync();
      assert.ok(
        values.every((v) => v >= 0 && v <= 1),
        'value outside [0, 1]',
      );
      y.dispose();
    }
  }
  // Inside tf.tidy the result is tracked like any op output.
  tf.tidy(() => {
    augmentBatch(x, rng, STRONG_AUGMENT);
  });
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([x, extremes]);
});

test('deterministic for a seed; another seed gives another draw; the strong recipe really changes images', () => {
  const x = sampleBatch(4, 16, 16);
  const a = augmentBatch(x, makeRng(11), STRONG_AUGMENT);
  const b = augmentBatch(x, makeRng(11), STRONG_AUGMENT);
  const c = augmentBatch(x, makeRng(12), STRONG_AUGMENT);
  assert.equal(maxAbsDiff(a, b), 0);
  assert.ok(maxAbsDiff(a, c) > 0.05);
  assert.ok(maxAbsDiff(a, x) > 0.05);
  tf.dispose([x, a, b, c]);
});

test('sampled parameters stay within the recipe ranges, and flips happen about half the time', () => {
  const p = sampleAugmentParams(2000, 64, 64, makeRng(9), ORIGINAL_AUGMENT);
  for (const q of p) {
    assert.ok(Math.abs(q.angle) <= (10 * Math.PI) / 180 + 1e-12);
    assert.ok(Math.abs(q.shiftX) <= 6.4 && Math.abs(q.shiftY) <= 6.4);
    assert.ok(q.zoomX >= 0.9 && q.zoomX <= 1.1 && q.zoomY >= 0.9 && q.zoomY <= 1.1);
    assert.equal(q.brightness, 1);
  }
  const hflips = p.filter((q) => q.hflip).length;
  assert.ok(hflips > 900 && hflips < 1100, `${hflips} hflips of 2000`);
  assert.ok(Math.max(...p.map((q) => Math.abs(q.angle))) > (9 * Math.PI) / 180);
});

test('bad options and inputs are refused with a clear message', () => {
  const x = sampleBatch(1, 8, 8);
  assert.throws(() => augmentBatch(x, makeRng(1), { ...NO_AUGMENT, rotation: 270 }), /rotation must be in \[0, 180\], got 270/);
  assert.throws(() => augmentBatch(x, makeRng(1), { ...NO_AUGMENT, zoom: 1 }), /zoom must be in \[0, 1\), got 1/);
  assert.throws(() => augmentBatch(x, makeRng(1), { ...NO_AUGMENT, fieldOfView: 1.5 }), /fieldOfView must be in \[0, 1\], got 1.5/);
  assert.throws(() => applyAugment(x, []), /0 parameter sets for a batch of 1/);
  const ints = tf.zeros([1, 8, 8, 3], 'int32') as tf.Tensor4D;
  assert.throws(() => applyAugment(ints, [IDENTITY_PARAMS]), /expected a float32 batch, got int32/);
  tf.dispose([x, ints]);
});

test('field of view: the fill outside the ellipse, the image untouched inside, the masked share as the ellipse says', () => {
  const size = 64;
  const data = Float32Array.from({ length: size * size * 3 }, (_, i) => 0.2 + (0.6 * ((i * 7919) % 101)) / 101);
  const fov = { ...centredFieldOfView(size), fill: 0.05 };
  const out = augmentPixels(data, [1, size, size, 3], [params({ fieldOfView: fov })]);
  let outside = 0;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const inside = ((x + 0.5 - size / 2) / fov.radiusX) ** 2 + ((y + 0.5 - size / 2) / fov.radiusY) ** 2 <= 1;
      for (let c = 0; c < 3; c++) {
        const i = (y * size + x) * 3 + c;
        assert.ok(Math.abs(out[i] - (inside ? data[i] : 0.05)) < 1e-7, `pixel ${x},${y} channel ${c}`);
      }
      if (!inside) outside++;
    }
  }
  // A centred circle of the height on a 4:3 photo is an ellipse of area pi/4 * 0.75 of the square input.
  const expected = 1 - (Math.PI / 4) * 0.75;
  assert.ok(Math.abs(outside / size ** 2 - expected) < 0.01, `masked share ${outside / size ** 2} vs ${expected}`);
  // The corners are the first to go, the centre never.
  assert.equal(out[0], Math.fround(0.05));
  const centre = ((size / 2) * size + size / 2) * 3;
  assert.equal(out[centre], data[centre]);
});

test('field of view: drawn with its probability and within its ranges; recipes without it draw exactly as before', () => {
  const without = sampleAugmentParams(50, 32, 32, makeRng(4), STRONG_AUGMENT);
  const zero = sampleAugmentParams(50, 32, 32, makeRng(4), { ...STRONG_AUGMENT, fieldOfView: 0 });
  assert.deepEqual(zero, without, 'fieldOfView 0 consumes no extra random numbers');
  assert.ok(without.every((p) => p.fieldOfView === null));

  const p = sampleAugmentParams(2000, 32, 32, makeRng(5), { ...STRONG_AUGMENT, fieldOfView: 0.3 });
  const masked = p.filter((q) => q.fieldOfView !== null);
  assert.ok(masked.length > 530 && masked.length < 670, `${masked.length} of 2000 with a field of view at p = 0.3`);
  const { diameter, aspect, centreJitter, fill } = FIELD_OF_VIEW_RANGES;
  for (const { fieldOfView: f } of masked) {
    assert.ok(f!.radiusY >= (diameter[0] / 2) * 32 - 1e-9 && f!.radiusY <= (diameter[1] / 2) * 32 + 1e-9);
    const ratio = f!.radiusX / f!.radiusY;
    assert.ok(ratio >= aspect[0] - 1e-9 && ratio <= aspect[1] + 1e-9);
    assert.ok(Math.abs(f!.centreX - 16) <= centreJitter * 32 + 1e-9 && Math.abs(f!.centreY - 16) <= centreJitter * 32 + 1e-9);
    assert.ok(f!.fill >= fill[0] && f!.fill <= fill[1]);
  }
  // Each image's other draws are the same whether or not it got a mask: the mask draws come after them.
  const all = sampleAugmentParams(3, 32, 32, makeRng(6), { ...STRONG_AUGMENT, fieldOfView: 1 });
  assert.ok(all.every((q) => q.fieldOfView !== null));
  assert.equal(all[0].angle, sampleAugmentParams(1, 32, 32, makeRng(6), STRONG_AUGMENT)[0].angle);
});

test('field of view on a non-square input: drawn in the 4:3 photo units it shows (same numbers as before at 4:3, photo-shaped elsewhere)', () => {
  const u = [0.5, 0.5, 0.5, 0.5, 0];
  // d = 1.1, axis ratio 1: at 160x120 one photo unit is 40 px each way, so the circle has radius 0.55 * 3 * 40 = 66
  // down and 0.55 * 4 * 40 = 88 across, the width-and-height form the square input uses (0.55 * 160, 0.55 * 120).
  const close = (a: number, b: number) => Math.abs(a - b) < 1e-9;
  const fourThree = drawFieldOfView(u, 160, 120);
  assert.ok(
    close(fourThree.centreX, 80) &&
      close(fourThree.centreY, 60) &&
      close(fourThree.radiusX, 88) &&
      close(fourThree.radiusY, 66) &&
      fourThree.fill === 0,
    JSON.stringify(fourThree),
  );
  // 200x100 shows the photo's 2:1 centre crop: one unit is 50 px, so radius 82.5 down and 110 across (still the
  // photo's 4:3 ellipse), not an ellipse stretched to the frame (110 across, 55 down).
  const wide = drawFieldOfView(u, 200, 100);
  assert.ok(close(wide.radiusX, 110) && close(wide.radiusY, 82.5), JSON.stringify(wide));
  // Square inputs are unchanged: the 4:3 photo squeezed in, the ellipse spanning width and height alike.
  const square = drawFieldOfView(u, 64, 64);
  assert.ok(close(square.radiusX, 35.2) && close(square.radiusY, 35.2), JSON.stringify(square));
});
