// The TFLite reader and converter on small files this test writes itself (both weight quantization
// kinds, every supported op), checked against a plain-loop float reference; and refusals.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import '@tensorflow/tfjs-backend-cpu';
import { tf } from '../../core/tf.ts';
import { BuiltinOperator as Op, TfliteFormatError, dequantize, readTflite } from '../../core/tflite-reader.ts';
import { UnsupportedTfliteError, tfliteToLayers } from '../../core/tflite-to-layers.ts';
import { buildTflite, int32Bytes, quantizeBytes, type GraphSpec } from '../helpers/tflite-builder.ts';
import { makeRng } from '../../trainer/data/rng.ts';

before(async () => {
  await tf.setBackend('cpu');
});

const UINT8 = 3,
  INT8 = 9,
  INT32 = 2;
const IN_SCALE = 1 / 128,
  IN_ZP = 128;

function randomValues(n: number, seed: number, amplitude = 0.5): Float32Array {
  const rng = makeRng(seed);
  return Float32Array.from({ length: n }, () => (rng() * 2 - 1) * amplitude);
}

/** The test graph and the dequantized weights the reference uses. */
function tinyGraph() {
  const conv1 = quantizeBytes(randomValues(4 * 3 * 3 * 3, 1), [4, 3, 3, 3], 'uint8', null); // per tensor, OHWI
  const dw = quantizeBytes(randomValues(3 * 3 * 4, 2), [1, 3, 3, 4], 'int8', 3); // per channel, [1, h, w, c]
  const pw = quantizeBytes(randomValues(4 * 4, 3), [4, 1, 1, 4], 'int8', 0); // per channel, OHWI
  // Biases are int32 with scale input_scale * weight_scale (per channel for per-channel weights).
  const biasOf = (values: number[], scales: number[]) => {
    const q = values.map((v, i) => Math.round(v / scales[i % scales.length]));
    return { data: int32Bytes(q), scale: scales, float: q.map((v, i) => Math.fround(scales[i % scales.length]) * v) };
  };
  const b1 = biasOf([0.1, -0.2, 0.05, 0.3], [IN_SCALE * conv1.scale[0]]);
  const b2 = biasOf(
    [0.2, 0.1, -0.1, 0],
    dw.scale.map((s) => s * 0.05),
  );
  const b3 = biasOf(
    [-0.05, 0.1, 0.15, -0.2],
    pw.scale.map((s) => s * 0.05),
  );
  const act = { scale: [0.05], zeroPoint: [0] };
  const spec: GraphSpec = {
    tensors: [
      /* 0 */ { shape: [1, 8, 8, 3], type: UINT8, name: 'input', quantization: { scale: [IN_SCALE], zeroPoint: [IN_ZP] } },
      /* 1 */ { shape: [1, 8, 8, 3], type: INT8, quantization: { scale: [IN_SCALE], zeroPoint: [0] } },
      /* 2 */ { shape: [4, 3, 3, 3], type: UINT8, data: conv1.data, quantization: { scale: conv1.scale, zeroPoint: conv1.zeroPoint } },
      /* 3 */ { shape: [4], type: INT32, data: b1.data, quantization: { scale: b1.scale, zeroPoint: [0] } },
      /* 4 */ { shape: [1, 4, 4, 4], type: INT8, quantization: act },
      /* 5 */ {
        shape: [1, 3, 3, 4],
        type: INT8,
        data: dw.data,
        quantization: { scale: dw.scale, zeroPoint: dw.zeroPoint, quantizedDimension: 3 },
      },
      /* 6 */ { shape: [4], type: INT32, data: b2.data, quantization: { scale: b2.scale, zeroPoint: [0, 0, 0, 0] } },
      /* 7 */ { shape: [1, 4, 4, 4], type: INT8, quantization: act },
      /* 8 */ {
        shape: [4, 1, 1, 4],
        type: INT8,
        data: pw.data,
        quantization: { scale: pw.scale, zeroPoint: pw.zeroPoint, quantizedDimension: 0 },
      },
      /* 9 */ { shape: [4], type: INT32, data: b3.data, quantization: { scale: b3.scale, zeroPoint: [0, 0, 0, 0] } },
      /* 10 */ { shape: [1, 4, 4, 4], type: INT8, quantization: act },
      /* 11 */ { shape: [1, 4, 4, 4], type: INT8, quantization: act },
      /* 12 */ { shape: [1, 2, 2, 4], type: INT8, quantization: act },
      /* 13 */ { shape: [2], type: INT32, data: int32Bytes([1, 2]) },
      /* 14 */ { shape: [1, 1, 1, 4], type: INT8, quantization: act },
      /* 15 */ { shape: [2], type: INT32, data: int32Bytes([1, 4]) },
      /* 16 */ { shape: [1, 4], type: INT8, quantization: act },
      /* 17 */ { shape: [1, 4], type: INT8, quantization: { scale: [1 / 256], zeroPoint: [-128] } },
    ],
    operators: [
      { opcode: Op.QUANTIZE, inputs: [0], outputs: [1] },
      // Conv2DOptions: padding SAME (0), stride_w, stride_h, fused activation RELU6 (3).
      {
        opcode: Op.CONV_2D,
        inputs: [1, 2, 3],
        outputs: [4],
        options: { 0: ['int8', 0], 1: ['int32', 2], 2: ['int32', 2], 3: ['int8', 3] },
      },
      {
        opcode: Op.DEPTHWISE_CONV_2D,
        inputs: [4, 5, 6],
        outputs: [7],
        optionsType: 2,
        options: { 0: ['int8', 0], 1: ['int32', 1], 2: ['int32', 1], 3: ['int32', 1], 4: ['int8', 3] },
      },
      {
        opcode: Op.CONV_2D,
        inputs: [7, 8, 9],
        outputs: [10],
        options: { 0: ['int8', 0], 1: ['int32', 1], 2: ['int32', 1], 3: ['int8', 0] },
      },
      { opcode: Op.ADD, inputs: [7, 10], outputs: [11], optionsType: 11, options: { 0: ['int8', 0] } },
      // Pool2DOptions: padding VALID (1), stride 2, filter 2x2.
      {
        opcode: Op.AVERAGE_POOL_2D,
        inputs: [11],
        outputs: [12],
        optionsType: 5,
        options: { 0: ['int8', 1], 1: ['int32', 2], 2: ['int32', 2], 3: ['int32', 2], 4: ['int32', 2], 5: ['int8', 0] },
      },
      { opcode: Op.MEAN, inputs: [12, 13], outputs: [14], optionsType: 27, options: { 0: ['bool', 1] } },
      { opcode: Op.RESHAPE, inputs: [14, 15], outputs: [16], optionsType: 17, optionVectors: { 0: [1, 4] } },
      { opcode: Op.SOFTMAX, inputs: [16], outputs: [17], optionsType: 9, options: { 0: ['float32', 1] } },
    ],
    inputs: [0],
    outputs: [17],
  };
  return { spec, conv1: conv1.dequantized, dw: dw.dequantized, pw: pw.dequantized, b1: b1.float, b2: b2.float, b3: b3.float };
}

// Plain-loop float reference, NHWC, TF's SAME padding (the extra row/column goes after).
type Image = { h: number; w: number; c: number; v: Float64Array };
const at = (x: Image, y: number, xx: number, ch: number) => (y < 0 || xx < 0 || y >= x.h || xx >= x.w ? 0 : x.v[(y * x.w + xx) * x.c + ch]);
function conv(x: Image, kernel: Float32Array, bias: number[], out: number, k: number, stride: number, relu6: boolean): Image {
  const oh = Math.ceil(x.h / stride),
    ow = Math.ceil(x.w / stride);
  const padT = Math.floor(Math.max((oh - 1) * stride + k - x.h, 0) / 2),
    padL = Math.floor(Math.max((ow - 1) * stride + k - x.w, 0) / 2);
  const v = new Float64Array(oh * ow * out);
  for (let y = 0; y < oh; y++)
    for (let xx = 0; xx < ow; xx++)
      for (let o = 0; o < out; o++) {
        let s = bias[o];
        for (let i = 0; i < k; i++)
          for (let j = 0; j < k; j++)
            for (let ch = 0; ch < x.c; ch++) {
              s += kernel[((o * k + i) * k + j) * x.c + ch] * at(x, y * stride + i - padT, xx * stride + j - padL, ch);
            }
        v[(y * ow + xx) * out + o] = relu6 ? Math.min(Math.max(s, 0), 6) : s;
      }
  return { h: oh, w: ow, c: out, v };
}
function depthwise(x: Image, kernel: Float32Array, bias: number[], k: number): Image {
  const v = new Float64Array(x.v.length);
  const pad = Math.floor((k - 1) / 2);
  for (let y = 0; y < x.h; y++)
    for (let xx = 0; xx < x.w; xx++)
      for (let ch = 0; ch < x.c; ch++) {
        let s = bias[ch];
        for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) s += kernel[(i * k + j) * x.c + ch] * at(x, y + i - pad, xx + j - pad, ch);
        v[(y * x.w + xx) * x.c + ch] = Math.min(Math.max(s, 0), 6);
      }
  return { ...x, v };
}

function reference(g: ReturnType<typeof tinyGraph>, pixels: Uint8Array): number[] {
  const input: Image = { h: 8, w: 8, c: 3, v: Float64Array.from(pixels, (q) => IN_SCALE * (q - IN_ZP)) };
  const a = conv(input, g.conv1, g.b1, 4, 3, 2, true);
  const b = depthwise(a, g.dw, g.b2, 3);
  const c = conv(b, g.pw, g.b3, 4, 1, 1, false);
  const sum = b.v.map((v, i) => v + c.v[i]);
  // 2x2 average pool, stride 2, then the mean over the 2x2 result = the mean over all 16 positions.
  const mean = [0, 1, 2, 3].map((ch) => {
    let s = 0;
    for (let p = 0; p < 16; p++) s += sum[p * 4 + ch];
    return s / 16;
  });
  const max = Math.max(...mean);
  const e = mean.map((m) => Math.exp(m - max));
  const z = e.reduce((p, q) => p + q, 0);
  return e.map((v) => v / z);
}

test('a TFLite file with every supported op and both weight quantizations converts to the float network', () => {
  const g = tinyGraph();
  const bytes = buildTflite(g.spec);
  const parsed = readTflite(bytes, 'tiny.tflite');
  assert.equal(parsed.operators.length, 9);
  assert.deepEqual(
    Array.from(dequantize(parsed.tensors[5])).map((v) => v.toFixed(5)),
    Array.from(g.dw).map((v) => v.toFixed(5)),
    'per-channel int8 along dimension 3',
  );
  assert.deepEqual(
    Array.from(dequantize(parsed.tensors[2])).map((v) => v.toFixed(5)),
    Array.from(g.conv1).map((v) => v.toFixed(5)),
    'per-tensor uint8',
  );

  const { model, rescaling, opCounts, weightQuantization } = tfliteToLayers(parsed, 'tiny.tflite');
  try {
    assert.deepEqual(opCounts, {
      QUANTIZE: 1,
      CONV_2D: 2,
      DEPTHWISE_CONV_2D: 1,
      ADD: 1,
      AVERAGE_POOL_2D: 1,
      MEAN: 1,
      RESHAPE: 1,
      SOFTMAX: 1,
    });
    assert.deepEqual(weightQuantization, { 'per-tensor': 2, 'per-channel': 4 });
    assert.ok(Math.abs(rescaling.scale - 255 / 128) < 1e-9 && Math.abs(rescaling.offset + 1) < 1e-9);
    const rng = makeRng(9);
    for (let trial = 0; trial < 3; trial++) {
      const pixels = Uint8Array.from({ length: 8 * 8 * 3 }, () => Math.floor(rng() * 256));
      const before = tf.memory().numTensors;
      const got = tf.tidy(() =>
        (
          model.predict(
            tf.tensor4d(
              Float32Array.from(pixels, (q) => q / 255),
              [1, 8, 8, 3],
            ),
          ) as tf.Tensor
        ).dataSync(),
      );
      assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
      const want = reference(g, pixels);
      assert.equal(got.length, 4);
      assert.ok(Math.abs(Array.from(got).reduce((a, b) => a + b, 0) - 1) < 1e-5, 'probabilities sum to 1');
      want.forEach((w, i) => assert.ok(Math.abs(got[i] - w) < 1e-4, `class ${i}: converter ${got[i]}, reference ${w}`));
    }
    // The reference really depends on the weights: a sign flip of one would show.
    assert.ok(reference(g, new Uint8Array(192).fill(200)).some((p) => Math.abs(p - 0.25) > 0.01));
  } finally {
    model.dispose();
  }
});

test('files that are not a complete TFLite model are refused with the file named', () => {
  const bytes = buildTflite(tinyGraph().spec);
  assert.throws(
    () => readTflite(new Uint8Array(0), 'empty.tflite'),
    (e: Error) => e instanceof TfliteFormatError && /empty\.tflite.*too short/.test(e.message),
  );
  const jpeg = new Uint8Array(64);
  jpeg.set([0xff, 0xd8, 0xff, 0xe0]);
  assert.throws(() => readTflite(jpeg, 'photo.jpg'), /photo\.jpg is not a TFLite model/);
  for (const cut of [0.2, 0.5, 0.9]) {
    assert.throws(
      () => {
        const parsed = readTflite(bytes.slice(0, Math.floor(bytes.length * cut)), 'cut.tflite');
        tfliteToLayers(parsed, 'cut.tflite').model.dispose();
      },
      (e: Error) => e instanceof TfliteFormatError && /cut\.tflite/.test(e.message),
      `cut at ${cut}`,
    );
  }
});

test('an op DermLens does not map is refused by name before anything is built', () => {
  const g = tinyGraph();
  g.spec.operators[8] = { opcode: Op.FULLY_CONNECTED, inputs: [16, 15], outputs: [17] };
  const parsed = readTflite(buildTflite(g.spec), 'fc.tflite');
  const before = tf.memory().numTensors;
  assert.throws(
    () => tfliteToLayers(parsed, 'fc.tflite'),
    (e: Error) => e instanceof UnsupportedTfliteError && /fc\.tflite uses FULLY_CONNECTED \(operator 8 first\)/.test(e.message),
  );
  assert.equal(tf.memory().numTensors, before);
});

test('an unsupported fused activation is refused', () => {
  const g = tinyGraph();
  g.spec.operators[1].options![3] = ['int8', 4]; // TANH
  assert.throws(() => tfliteToLayers(readTflite(buildTflite(g.spec), 'tanh.tflite'), 'tanh.tflite'), /fused activation TANH/);
});
