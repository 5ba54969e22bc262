// What overlapping the augmentation with the step saves: (A) trainOneBatch as today (augmentation on the
// main thread, on the critical path) vs (B) the step without augmentation while a worker thread augments
// the next batch (pure JS augmentPixels), including the wait for it and the upload. Alternating, same load.
import { Worker } from 'node:worker_threads';
import { tf } from '../../core/tf.ts';
import { initBackend } from '../../trainer/backends/select.ts';
import { makeRng } from '../../trainer/data/rng.ts';
import { createStepper, trainOneBatch } from '../../trainer/train/step.ts';
import { sampleAugmentParams, type AugmentOptions } from '../../trainer/train/augment.ts';
import { benchStepConfig, randomBatch } from './step-setup.ts';
const [arch = 'mobilenetv2', sizeArg = '128', nArg = '9'] = process.argv.slice(2);
await initBackend('tensorflow', { nativeFastPaths: true, log: null });
const size = Number(sizeArg);
const config = benchStepConfig(arch, size);
const stepper = createStepper(config, null, null);
const aug = stepper.augment as AugmentOptions;
const rng = makeRng(1);
const { x, y } = randomBatch(size);
const raw = x.dataSync() as Float32Array;
// Node 20 workers do not inherit tsx's loader: register it in the worker, then load the TS module.
const workerUrl = new URL('./aug-worker.ts', import.meta.url).href;
const worker = new Worker(`import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(workerUrl)}); });`, {
  eval: true,
});
const shape = [32, size, size, 3] as [number, number, number, number];
const request = () =>
  new Promise<Float32Array>((resolve) => {
    worker.once('message', resolve);
    const data = raw.slice();
    worker.postMessage({ data, shape, params: sampleAugmentParams(32, size, size, rng, aug), fill: aug.fillMode ?? 'nearest' }, [
      data.buffer,
    ]);
  });
let next = request();
const t: Record<string, number[]> = { A: [], B: [] };
for (let i = 0; i < Number(nArg) + 2; i++) {
  for (const mode of i % 2 ? ['A', 'B'] : ['B', 'A']) {
    const t0 = performance.now();
    if (mode === 'A') {
      stepper.augment = aug;
      await trainOneBatch(stepper, tf.clone(x), tf.clone(y), { step: i, epoch: 1, lr: 1e-3, augRng: rng });
    } else {
      const pixels = await next; // augmented while the previous B step ran
      next = request(); // the worker augments the following batch during this step
      stepper.augment = null;
      await trainOneBatch(stepper, tf.tensor4d(pixels, shape), tf.clone(y), { step: i, epoch: 1, lr: 1e-3, augRng: rng });
    }
    if (i >= 2) t[mode].push(performance.now() - t0);
  }
}
const med = (a: number[]) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];
console.log(
  `${arch} ${size}px: A (augment on main thread) median ${med(t.A).toFixed(1)} ms | B (augment overlapped in a worker) median ${med(t.B).toFixed(1)} ms`,
);
await next;
await worker.terminate();
