// npx tsx scripts/bench-classify-ab.ts --model <dir> --model <dir> [--runs 150] [--backend wasm]
// Two models' single-image classification (preprocessed input -> probabilities and the image-kind verdict,
// the classifier's assessInputs) in ONE process, interleaved image by image, so both see the same machine
// load and the same warm caches. bench:infer compares models in fresh processes, whose medians drift by
// several ms between processes on this shared 2-core machine: too coarse to see what a change to the gate
// (a few poolings) costs. Prints each model's median and 10th percentile, and the ratio of the medians.
import { formatInputSize } from '../core/preprocess.ts';
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import '@tensorflow/tfjs-backend-wasm';
import { tf } from '../core/tf.ts';
import { fromModel } from '../core/classifier.ts';
import { fileLoadHandler } from '../trainer/run/model-files.ts';

const { values } = parseArgs({
  options: {
    model: { type: 'string', multiple: true },
    runs: { type: 'string', default: '150' },
    backend: { type: 'string', default: 'wasm' },
  },
});
const dirs = values.model ?? [];
if (dirs.length !== 2) throw new Error('give exactly two --model <dir> (each with a model.json)');
await tf.setBackend(values.backend!);
const classifiers = [];
for (const dir of dirs)
  classifiers.push(await fromModel(await tf.loadLayersModel(fileLoadHandler(join(dir, 'model.json'))), { warmUp: true }));
const [a, b] = classifiers.map((c) => formatInputSize(c.inputShape));
if (a !== b) throw new Error(`the two models take different input sizes (${a} and ${b})`);
const { width, height } = classifiers[0].inputShape;
const input = new Float32Array(height * width * 3).map((_, i) => (i % 251) / 251);
const times: number[][] = [[], []];
for (let r = 0; r < Number(values.runs); r++) {
  for (const k of [0, 1]) {
    const t0 = performance.now();
    await classifiers[k].assessInputs([input]);
    times[k].push(performance.now() - t0);
  }
}
const at = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.floor(p * (xs.length - 1))];
dirs.forEach((dir, k) =>
  console.log(
    `${dir}: median ${at(times[k], 0.5).toFixed(1)} ms, p10 ${at(times[k], 0.1).toFixed(1)} ms over ${times[k].length} (${tf.getBackend()})`,
  ),
);
console.log(`ratio of medians (second / first): ${(at(times[1], 0.5) / at(times[0], 0.5)).toFixed(3)}`);
classifiers.forEach((c) => c.dispose());
