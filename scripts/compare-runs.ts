#!/usr/bin/env -S node --import tsx
// How far apart are two runs on validation, really? For each --run, the difference in validation
// balanced accuracy from --base, with a 95% paired bootstrap interval that resamples whole lesions
// (both runs are scored on the same drawn images). Reads only the runs' validation predictions
// (predictions.json), never test: it is a tool for choosing.
//
//   npm run compare -- --base runs/compact96 --run runs/compact96-s7 --run runs/ensemble96
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CLASS_CODES } from '../core/labels.ts';
import { argmax } from '../core/metrics.ts';
import { balancedAccuracyOf, bootstrapInterval } from '../trainer/evaluate/bootstrap.ts';
import { readLesionIds } from '../trainer/data/lesion-ids.ts';
import { readJsonFile } from '../trainer/run/json.ts';

process.on('uncaughtException', (e) => {
  console.error(`compare: ${e.message}`);
  process.exit(1);
});

const { values } = parseArgs({ options: { base: { type: 'string' }, run: { type: 'string', multiple: true } } });
if (!values.base || !values.run?.length) {
  console.error('usage: compare-runs.ts --base <runDir> --run <runDir> [--run <runDir> ...]');
  process.exit(1);
}

interface ValPredictions {
  imageIds: string[];
  labels: number[];
  probs: number[][];
}

async function readVal(dir: string): Promise<{ name: string; val: ValPredictions; source?: string }> {
  const [predictions, split] = await Promise.all([
    readJsonFile<{ refitFrom?: string; val?: ValPredictions }>(join(dir, 'predictions.json'), basename(dir)),
    readJsonFile<{ source?: string }>(join(dir, 'split.json'), basename(dir)),
  ]);
  // A refit trained on the validation images; the validation predictions it carries are its reference's.
  if (predictions.refitFrom)
    throw new Error(
      `${basename(dir)} is a refit of ${basename(predictions.refitFrom)}: it trained on the validation images, so it has no validation predictions of its own (compare ${basename(predictions.refitFrom)})`,
    );
  if (!predictions.val?.imageIds)
    throw new Error(`${dir}/predictions.json has no validation image ids (a run older than them: rerun dermlens report --run ${dir})`);
  return { name: basename(dir), val: predictions.val, source: split.source };
}

const base = await readVal(resolve(values.base));
const ids = base.val.imageIds;
const lesions = await readLesionIds(base.source, ids);
const everyRow = Uint32Array.from(ids, (_, i) => i);
const predictedOf = (v: ValPredictions) => v.probs.map((p) => argmax(p));
const basePredicted = predictedOf(base.val);
const score = (predicted: number[], rows: ArrayLike<number>) => balancedAccuracyOf(base.val.labels, predicted, CLASS_CODES.length, rows);

console.log(
  `validation balanced accuracy against ${base.name} (${score(basePredicted, everyRow).toFixed(3)}), ${ids.length} images; ` +
    `95% intervals by ${lesions ? `resampling the ${new Set(lesions).size} lesions` : 'resampling images (lesion ids not found: too narrow)'}, 1000 resamples`,
);
console.log(`${'run'.padEnd(20)} ${'val bal. acc.'.padStart(13)} ${'difference'.padStart(10)}   95% interval`);
for (const dir of values.run) {
  const run = await readVal(resolve(dir));
  if (JSON.stringify(run.val.imageIds) !== JSON.stringify(ids))
    throw new Error(`${run.name} was validated on other images than ${base.name}: compare runs on one split`);
  const predicted = predictedOf(run.val);
  const diff = (rows: ArrayLike<number>) => score(predicted, rows) - score(basePredicted, rows);
  const ci = bootstrapInterval(ids.length, diff, { groups: lesions });
  const signed = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(3)}`;
  console.log(
    `${run.name.padEnd(20)} ${score(predicted, everyRow).toFixed(3).padStart(13)} ${signed(diff(everyRow)).padStart(10)}   ${signed(ci.low)} to ${signed(ci.high)}`,
  );
}
