// Per-kernel time of one trainOneBatch (tf.profile), aggregated by kernel name.
import { tf } from '../../core/tf.ts';
import { initBackend } from '../../trainer/backends/select.ts';
import { installNativeFastPaths, ALL_NATIVE_FAST_PATHS } from '../../trainer/backends/native/fast-kernels.ts';
import { makeRng } from '../../trainer/data/rng.ts';
import { createStepper, trainOneBatch } from '../../trainer/train/step.ts';
import { benchStepConfig, randomBatch } from './step-setup.ts';
const [arch = 'mobilenetv2', sizeArg = '128', fused = '1'] = process.argv.slice(2);
await initBackend('tensorflow', { nativeFastPaths: true, log: null });
installNativeFastPaths({ ...ALL_NATIVE_FAST_PATHS, fusedConv: fused === '1' });
const size = Number(sizeArg);
const config = benchStepConfig(arch, size);
const stepper = createStepper(config, null, null);
const rng = makeRng(1);
const { x, y } = randomBatch(size);
for (let i = 0; i < 3; i++) await trainOneBatch(stepper, tf.clone(x), tf.clone(y), { step: i, epoch: 1, lr: 1e-3, augRng: rng });
const agg = new Map<string, { n: number; ms: number }>();
let wall = 0;
for (let r = 0; r < 3; r++) {
  const t0 = performance.now();
  const prof = await tf.profile(async () => {
    await trainOneBatch(stepper, tf.clone(x), tf.clone(y), { step: 9, epoch: 1, lr: 1e-3, augRng: rng });
    return [];
  });
  wall += performance.now() - t0;
  for (const k of prof.kernels) {
    const ms = (await k.kernelTimeMs) as number;
    const a = agg.get(k.name) ?? { n: 0, ms: 0 };
    a.n += 1 / 3;
    a.ms += ms / 3;
    agg.set(k.name, a);
  }
}
const total = [...agg.values()].reduce((s, a) => s + a.ms, 0);
console.log(
  `wall ${(wall / 3).toFixed(0)} ms (profiled), kernels total ${total.toFixed(0)} ms, ${[...agg.values()].reduce((s, a) => s + a.n, 0).toFixed(0)} kernel calls`,
);
for (const [name, a] of [...agg].sort((p, q) => q[1].ms - p[1].ms).slice(0, 25))
  console.log(`${name.padEnd(36)} ${a.n.toFixed(0).padStart(5)} ${a.ms.toFixed(1).padStart(8)} ms`);
