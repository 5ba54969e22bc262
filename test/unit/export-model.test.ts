import { test } from 'node:test';
import assert from 'node:assert/strict';
import '@tensorflow/tfjs-backend-cpu';
import { tf } from '../../core/tf.ts';
import { float32ToFloat16Bits, quantizeWeights } from '../../trainer/model/export.ts';

await tf.setBackend('cpu');

test('float32ToFloat16Bits: exact values, rounding to nearest even, overflow, subnormals', () => {
  const cases: Array<[number, number]> = [
    [0, 0x0000],
    [-0, 0x8000],
    [1, 0x3c00],
    [-2, 0xc000],
    [0.5, 0x3800],
    [65504, 0x7bff],
    [65520, 0x7c00],
    [1e6, 0x7c00],
    [Infinity, 0x7c00],
    [-Infinity, 0xfc00],
    [2 ** -24, 0x0001],
    [2 ** -14, 0x0400],
    [2 ** -26, 0x0000],
    [1 + 2 ** -11, 0x3c00], // halfway between 1 and the next half: rounds to even (1)
    [1 + 3 * 2 ** -11, 0x3c02], // halfway, rounds up to even
    [0.1, 0x2e66],
  ];
  for (const [value, bits] of cases) assert.equal(float32ToFloat16Bits(value), bits, `${value}`);
  assert.equal(float32ToFloat16Bits(NaN) & 0x7c00, 0x7c00);
  assert.notEqual(float32ToFloat16Bits(NaN) & 0x3ff, 0);
});

test('quantized weights decode through tfjs to within half a step', async () => {
  const a = tf.tensor2d([
    [-1.5, 0.25],
    [3.75, 0.001],
  ]);
  const b = tf.fill([3], 0.7);
  const { data, specs } = await tf.io.encodeWeights([
    { name: 'a', tensor: a },
    { name: 'b', tensor: b },
  ]);
  const raw = new tf.io.CompositeArrayBuffer(data).slice();
  const f16 = quantizeWeights(specs, raw, 'float16');
  assert.equal(f16.data.byteLength, raw.byteLength / 2);
  const d16 = tf.io.decodeWeights(f16.data, f16.specs);
  const a16 = d16.a.dataSync();
  [-1.5, 0.25, 3.75, 0.001].forEach((v, i) => assert.ok(Math.abs(a16[i] - v) <= Math.abs(v) * 2 ** -11, `${v} -> ${a16[i]}`));
  const u8 = quantizeWeights(specs, raw, 'uint8');
  assert.equal(u8.data.byteLength, raw.byteLength / 4);
  const d8 = tf.io.decodeWeights(u8.data, u8.specs);
  const step = (3.75 - -1.5) / 255;
  const a8 = d8.a.dataSync();
  [-1.5, 0.25, 3.75, 0.001].forEach((v, i) => assert.ok(Math.abs(a8[i] - v) <= step / 2 + 1e-6, `${v} -> ${a8[i]}`));
  assert.deepEqual(
    Array.from(d8.b.dataSync()).map((v) => Number(v.toFixed(6))),
    [0.7, 0.7, 0.7],
    'constant tensors survive',
  );
  tf.dispose([a, b, ...Object.values(d16), ...Object.values(d8)]);
});
