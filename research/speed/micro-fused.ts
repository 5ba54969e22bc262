// Micro-benchmark: MobileNetV2 (BN folded) layers at 128 px, batch 32. For each conv layer:
// split = Conv2D/DepthwiseConv2dNative + AddV2(bias) + Relu6 (what the trainer runs today)
// fused = _FusedConv2D / _FusedDepthwiseConv2dNative (fused_ops BiasAdd[,Relu6])
// mkl   = _MklNativeFused* with _kernel=MklNameChangeOp (the oneDNN kernel Keras' graph ends up on)
// and the backward ops of the layer, for scale.
import { tf } from '../../core/tf.ts';
import { nativeOps } from './op-attrs.ts';
import type { OpAttr } from '../../trainer/backends/native/tf-ops.ts';
import { MOBILENET_V2_STAGES } from '../../core/mobilenet-v2.ts';

const { be, B, T, ints, str, int } = await nativeOps();

const batch = Number(process.env.BATCH ?? 32);
const size = Number(process.env.SIZE ?? 128);
const reps = Number(process.env.REPS ?? 7);
interface Layer {
  name: string;
  kind: 'conv' | 'dw';
  h: number;
  cin: number;
  cout: number;
  k: number;
  s: number;
  relu6: boolean;
}
const layers: Layer[] = [];
let h = size;
layers.push({ name: 'stem', kind: 'conv', h, cin: 3, cout: 32, k: 3, s: 2, relu6: true });
h /= 2;
let ch = 32;
const STAGES = MOBILENET_V2_STAGES;
let k = 0;
for (const [t, c, n, s] of STAGES) {
  for (let i = 0; i < n; i++) {
    const stride = i === 0 ? s : 1;
    const e = ch * t;
    if (t !== 1) layers.push({ name: `b${k}_expand`, kind: 'conv', h, cin: ch, cout: e, k: 1, s: 1, relu6: true });
    layers.push({ name: `b${k}_dw`, kind: 'dw', h, cin: e, cout: e, k: 3, s: stride, relu6: true });
    h /= stride;
    layers.push({ name: `b${k}_project`, kind: 'conv', h, cin: e, cout: c, k: 1, s: 1, relu6: false });
    ch = c;
    k++;
  }
}
layers.push({ name: 'last', kind: 'conv', h, cin: ch, cout: 1280, k: 1, s: 1, relu6: true });

function time(f: () => tf.Tensor | tf.Tensor[]): number {
  const t0 = performance.now();
  const out = f();
  const ms = performance.now() - t0;
  tf.dispose(out);
  return ms;
}
const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

const totals: Record<string, number> = {};
const add = (key: string, v: number) => (totals[key] = (totals[key] ?? 0) + v);
const rows: string[] = [];
let maxDiff = 0;
for (const L of layers) {
  const x = tf.randomUniform([batch, L.h, L.h, L.cin], -1, 3, 'float32', 1);
  const w =
    L.kind === 'conv'
      ? tf.randomNormal([L.k, L.k, L.cin, L.cout], 0, 2 / Math.sqrt(L.k * L.k * L.cin), 'float32', 2)
      : tf.randomNormal([L.k, L.k, L.cin, 1], 0, 0.6, 'float32', 2);
  const b = tf.randomNormal([L.cout], 0.5, 1, 'float32', 3);
  const strides = [1, L.s, L.s, 1];
  const convName = L.kind === 'conv' ? 'Conv2D' : 'DepthwiseConv2dNative';
  const convAttrs = [T('T'), ints('strides', strides), str('padding', 'SAME')];
  const fusedOps = L.relu6 ? ['BiasAdd', 'Relu6'] : ['BiasAdd'];
  const fusedAttrs = (mkl: boolean): OpAttr[] => [
    T('T'),
    int('num_args', 1),
    ints('strides', strides),
    str('padding', 'SAME'),
    str('fused_ops', fusedOps),
    ...(L.kind === 'conv' ? [{ name: 'TArgs', type: B.TF_ATTR_TYPE, value: [B.TF_FLOAT] }] : []),
    ...(mkl ? [str('_kernel', 'MklNameChangeOp')] : []),
  ];
  const split = () =>
    tf.tidy(() => {
      const y = be.executeSingleOutput(convName, convAttrs, [x, w]);
      const z = tf.add(y, b);
      return L.relu6 ? tf.relu6(z) : z;
    });
  const fusedName = L.kind === 'conv' ? '_FusedConv2D' : '_FusedDepthwiseConv2dNative';
  const fused = () => be.executeSingleOutput(fusedName, fusedAttrs(false), [x, w, b]);
  const mkl = () => be.executeSingleOutput('_MklNative' + fusedName.slice(1), fusedAttrs(true), [x, w, b]);
  // backward for scale
  const y = split();
  const dy = tf.randomNormal(y.shape, 0, 1, 'float32', 4);
  const xShape = tf.tensor1d(x.shape, 'int32');
  const wShape = tf.tensor1d(w.shape, 'int32');
  const bwdIn = () =>
    be.executeSingleOutput(L.kind === 'conv' ? 'Conv2DBackpropInput' : 'DepthwiseConv2dNativeBackpropInput', convAttrs, [xShape, w, dy]);
  const bwdFilter = () =>
    be.executeSingleOutput(L.kind === 'conv' ? 'Conv2DBackpropFilter' : 'DepthwiseConv2dNativeBackpropFilter', convAttrs, [x, wShape, dy]);
  const relu6g = () => be.executeSingleOutput('Relu6Grad', [T('T')], [dy, y]);
  const biasg = () => tf.sum(dy, [0, 1, 2]);
  const variants: [string, () => tf.Tensor | tf.Tensor[]][] = [
    ['split', split],
    ['fused', fused],
    ['mkl', mkl],
    ['bwdInput', bwdIn],
    ['bwdFilter', bwdFilter],
    ['relu6Grad', relu6g],
    ['biasGradSum', biasg],
  ];
  // correctness
  for (const f of L.kind === 'dw' ? [mkl] : [fused, mkl]) {
    if (process.env.ONLY_CHECK === '1') {
    }
    const a = f() as tf.Tensor;
    if (a.size !== y.size) console.log(L.name, f === fused ? 'fused' : 'mkl', a.shape, y.shape);
    const d = tf.tidy(() => tf.max(tf.abs(tf.sub(a, y))).dataSync()[0] / Math.max(1e-6, tf.max(tf.abs(y)).dataSync()[0]));
    maxDiff = Math.max(maxDiff, d);
    a.dispose();
  }
  const times: Record<string, number[]> = {};
  for (let r = 0; r < reps + 1; r++) {
    for (const [name, f] of r % 2 ? variants : [...variants].reverse()) {
      if (name.startsWith('relu6') && !L.relu6) continue;
      if (name === 'bwdInput' && L.name === 'stem') continue;
      if (name === 'fused' && L.kind === 'dw') continue;
      const ms = time(f);
      if (r > 0) (times[name] ??= []).push(ms);
    }
  }
  const m = Object.fromEntries(Object.entries(times).map(([n, v]) => [n, med(v)]));
  for (const [n, v] of Object.entries(m)) add(n, v);
  rows.push(
    `${L.name.padEnd(12)} ${L.kind} ${L.h}x${L.h}x${L.cin}->${L.cout} s${L.s} ` +
      Object.entries(m)
        .map(([n, v]) => `${n} ${v.toFixed(2)}`)
        .join(' | '),
  );
  tf.dispose([x, w, b, y, dy, xShape, wShape]);
}
console.log(rows.join('\n'));
console.log(
  'TOTAL ms:',
  Object.entries(totals)
    .map(([n, v]) => `${n} ${v.toFixed(1)}`)
    .join(' | '),
);
console.log('max rel diff fused/mkl vs split:', maxDiff.toExponential(2), 'tensors', tf.memory().numTensors);
