// A/B of trainOneBatch with and without a fast path (same stepper, alternating batch by batch, so both
// see the same machine load), plus the augmentation alone. Usage:
//   npx tsx research/speed/ab-step.ts [arch] [size] [batches] [fastPathToToggle]
import { tf } from '../../core/tf.ts';
import { initBackend } from '../../trainer/backends/select.ts';
import { installNativeFastPaths, ALL_NATIVE_FAST_PATHS, type NativeFastPathOptions } from '../../trainer/backends/native/fast-kernels.ts';
import { makeRng } from '../../trainer/data/rng.ts';
import { createStepper, trainOneBatch } from '../../trainer/train/step.ts';
import { augmentBatch } from '../../trainer/train/augment.ts';
import { benchStepConfig, randomBatch } from './step-setup.ts';

const [arch = 'mobilenetv2', sizeArg = '128', batchesArg = '15', toggle = 'fusedConv'] = process.argv.slice(2);
await initBackend('tensorflow', { nativeFastPaths: true, log: null });
const size = Number(sizeArg);
const config = benchStepConfig(arch, size);
const stepper = createStepper(config, null, null);
const rng = makeRng(1);
const { x, y } = randomBatch(size);
const on: NativeFastPathOptions = { ...ALL_NATIVE_FAST_PATHS };
const off: NativeFastPathOptions = { ...ALL_NATIVE_FAST_PATHS, [toggle]: false };
const times: Record<string, number[]> = { on: [], off: [], augment: [] };
const n = Number(batchesArg);
for (let i = 0; i < n + 3; i++) {
  for (const [name, opts] of (i % 2
    ? [
        ['on', on],
        ['off', off],
      ]
    : [
        ['off', off],
        ['on', on],
      ]) as [string, NativeFastPathOptions][]) {
    installNativeFastPaths(opts);
    const t0 = performance.now();
    await trainOneBatch(stepper, tf.clone(x), tf.clone(y), { step: i, epoch: 1, lr: 1e-3, augRng: rng });
    if (i >= 3) times[name].push(performance.now() - t0);
  }
  const t0 = performance.now();
  tf.dispose(augmentBatch(x, rng, stepper.augment!));
  if (i >= 3) times.augment.push(performance.now() - t0);
}
const med = (a: number[]) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];
console.log(
  `${arch} ${size}px batch 32 strong, ${n} batches each, toggling ${toggle}:`,
  Object.entries(times)
    .map(([k, v]) => `${k} median ${med(v).toFixed(1)} ms`)
    .join(' | '),
  `tensors ${tf.memory().numTensors}`,
);
