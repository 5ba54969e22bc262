// Bias gradient: Sum (what tfjs' add gradient runs) vs BiasAddGrad vs fused into the filter gradient
// (_MklNativeConv2DBackpropFilterWithBias); and _FusedConv2D vs _MklNativeFusedConv2D forward.
import { tf } from '../../core/tf.ts';
import { nativeOps } from './op-attrs.ts';
const { be, B, T, ints, str } = await nativeOps();
const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const reps = Number(process.env.REPS ?? 9);
const shapes: [number, number, number][] = [
  [64, 16, 96],
  [32, 24, 144],
  [16, 32, 192],
  [8, 64, 384],
  [8, 96, 576],
  [4, 160, 960],
  [4, 320, 1280],
];
const tot: Record<string, number> = {};
for (const [h, cin, cout] of shapes) {
  const x = tf.randomUniform([32, h, h, cin], -1, 3);
  const w = tf.randomNormal([1, 1, cin, cout], 0, 0.3);
  const b = tf.randomNormal([cout]);
  const dz = tf.randomNormal([32, h, h, cout]);
  const wShape = tf.tensor1d(w.shape, 'int32');
  const conv = [T('T'), ints('strides', [1, 1, 1, 1]), str('padding', 'SAME')];
  const fusedA = (mkl: boolean) => [
    T('T'),
    { name: 'TArgs', type: B.TF_ATTR_TYPE, value: [B.TF_FLOAT] },
    { name: 'num_args', type: B.TF_ATTR_INT, value: 1 },
    ints('strides', [1, 1, 1, 1]),
    str('padding', 'SAME'),
    str('fused_ops', ['BiasAdd', 'Relu6']),
    ...(mkl ? [str('_kernel', 'MklNameChangeOp')] : []),
  ];
  const v: [string, () => tf.Tensor | tf.Tensor[]][] = [
    ['sum', () => tf.sum(dz, [0, 1, 2])],
    ['biasAddGrad', () => be.executeSingleOutput('BiasAddGrad', [T('T'), str('data_format', 'NHWC')], [dz])],
    ['filterGrad', () => be.executeSingleOutput('Conv2DBackpropFilter', conv, [x, wShape, dz])],
    [
      'filterGradWithBias',
      () =>
        be.executeMultipleOutputs(
          '_MklNativeConv2DBackpropFilterWithBias',
          [...conv, str('_kernel', 'MklNameChangeOp')],
          [x, wShape, dz],
          2,
        ),
    ],
    ['fusedConv', () => be.executeSingleOutput('_FusedConv2D', fusedA(false), [x, w, b])],
    ['mklFusedConv', () => be.executeSingleOutput('_MklNativeFusedConv2D', fusedA(true), [x, w, b])],
  ];
  const times: Record<string, number[]> = {};
  for (let r = 0; r <= reps; r++)
    for (const [n, f] of r % 2 ? v : [...v].reverse()) {
      const t0 = performance.now();
      const o = f();
      const ms = performance.now() - t0;
      tf.dispose(o);
      if (r) (times[n] ??= []).push(ms);
    }
  const chk = tf.tidy(() => {
    const [fw, fb] = be.executeMultipleOutputs(
      '_MklNativeConv2DBackpropFilterWithBias',
      [...conv, str('_kernel', 'MklNameChangeOp')],
      [x, wShape, dz],
      2,
    );
    const rw = be.executeSingleOutput('Conv2DBackpropFilter', conv, [x, wShape, dz]);
    const rb = tf.sum(dz, [0, 1, 2]);
    return [
      tf.max(tf.abs(tf.sub(fw, rw))).dataSync()[0] / tf.max(tf.abs(rw)).dataSync()[0],
      tf.max(tf.abs(tf.sub(fb, rb))).dataSync()[0] / tf.max(tf.abs(rb)).dataSync()[0],
    ];
  });
  console.log(
    `${h}x${h}x${cin}->${cout}`,
    Object.entries(times)
      .map(([n, t]) => {
        tot[n] = (tot[n] ?? 0) + med(t);
        return `${n} ${med(t).toFixed(2)}`;
      })
      .join(' | '),
    'withBias rel diff',
    chk.map((d) => d.toExponential(1)).join(','),
  );
  tf.dispose([x, w, b, dz, wShape]);
}
console.log(
  'TOTAL',
  Object.entries(tot)
    .map(([n, t]) => `${n} ${t.toFixed(1)}`)
    .join(' | '),
);
