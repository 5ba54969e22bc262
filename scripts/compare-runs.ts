#!/usr/bin/env -S node --import tsx
// How far apart are two runs on validation, really? For each --run, the difference in validation
// balanced accuracy from --base, with a 95% paired bootstrap interval that resamples whole lesions
// (both runs are scored on the same drawn images). Runs trained with --extra-data also have the external
// validation set: the same comparison there, whole and per collection. Reads only the runs' validation
// and external predictions (predictions.json), never test: it is a tool for choosing.
//
//   npm run compare -- --base runs/compact96 --run runs/compact96-s7 --run runs/ensemble96
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CLASS_CODES } from '../core/labels.ts';
import { argmax } from '../core/metrics.ts';
import { balancedAccuracyOf, bootstrapInterval, presentClassesBalancedAccuracy } from '../trainer/evaluate/bootstrap.ts';
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
  /** External predictions: each image's collection. */
  collections?: string[];
}

async function readVal(dir: string): Promise<{ name: string; val: ValPredictions; external?: ValPredictions; source?: string }> {
  const [predictions, split] = await Promise.all([
    readJsonFile<{ refitFrom?: string; val?: ValPredictions; external?: ValPredictions }>(join(dir, 'predictions.json'), basename(dir)),
    readJsonFile<{ source?: string }>(join(dir, 'split.json'), basename(dir)),
  ]);
  // A refit trained on the validation images; the validation predictions it carries are its reference's.
  if (predictions.refitFrom)
    throw new Error(
      `${basename(dir)} is a refit of ${basename(predictions.refitFrom)}: it trained on the validation images, so it has no validation predictions of its own (compare ${basename(predictions.refitFrom)})`,
    );
  if (!predictions.val?.imageIds)
    throw new Error(`${dir}/predictions.json has no validation image ids (a run older than them: rerun dermlens report --run ${dir})`);
  return { name: basename(dir), val: predictions.val, external: predictions.external, source: split.source };
}

const base = await readVal(resolve(values.base));
const runs = await Promise.all(values.run.map((dir) => readVal(resolve(dir))));
const signed = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(3)}`;

/** One table: each run against the base on the same images (rows of `pick`), paired bootstrap over `groups` (or images). */
function compareOn(
  title: string,
  baseSet: ValPredictions,
  sets: Array<{ name: string; set: ValPredictions }>,
  groups: string[] | undefined,
  rows: number[],
): void {
  const labels = rows.map((r) => baseSet.labels[r]);
  const predictedOf = (v: ValPredictions) => rows.map((r) => argmax(v.probs[r]));
  const basePredicted = predictedOf(baseSet);
  const everyRow = Uint32Array.from(rows, (_, i) => i);
  // The external collections hold three of the seven classes: their score is over the classes present.
  const statistic = title === 'validation' ? balancedAccuracyOf : presentClassesBalancedAccuracy;
  const score = (predicted: number[], sample: ArrayLike<number>) => statistic(labels, predicted, CLASS_CODES.length, sample);
  const groupsOfRows = groups ? rows.map((r) => groups[r]) : undefined;
  console.log(
    `${title} balanced accuracy against ${base.name} (${score(basePredicted, everyRow).toFixed(3)}), ${rows.length} images; ` +
      `95% intervals by ${groupsOfRows ? `resampling the ${new Set(groupsOfRows).size} lesions` : 'resampling images'}, 1000 resamples`,
  );
  console.log(`${'run'.padEnd(20)} ${'bal. acc.'.padStart(13)} ${'difference'.padStart(10)}   95% interval`);
  for (const { name, set } of sets) {
    if (JSON.stringify(rows.map((r) => set.imageIds[r])) !== JSON.stringify(rows.map((r) => baseSet.imageIds[r])))
      throw new Error(
        `${name} was ${title === 'validation' ? 'validated on other images' : `scored on other ${title} images`} than ${base.name}: compare runs on one split`,
      );
    const predicted = predictedOf(set);
    const diff = (sample: ArrayLike<number>) => score(predicted, sample) - score(basePredicted, sample);
    const ci = bootstrapInterval(rows.length, diff, { groups: groupsOfRows });
    console.log(
      `${name.padEnd(20)} ${score(predicted, everyRow).toFixed(3).padStart(13)} ${signed(diff(everyRow)).padStart(10)}   ${signed(ci.low)} to ${signed(ci.high)}`,
    );
  }
}

const valIds = base.val.imageIds;
const lesions = await readLesionIds(base.source, valIds);
compareOn(
  'validation',
  base.val,
  runs.map((r) => ({ name: r.name, set: r.val })),
  lesions ?? undefined,
  valIds.map((_, i) => i),
);
if (!lesions) console.log('(lesion ids not found: the validation interval resamples images and is too narrow)');
const withExternal = runs.filter((r) => r.external);
if (base.external && withExternal.length) {
  // ph2 has one image per lesion; msk's few multi-image lesions are grouped in training, not here: images are resampled.
  const external = base.external;
  const collections = external.collections ?? external.imageIds.map(() => 'external');
  const all = external.imageIds.map((_, i) => i);
  for (const [title, rows] of [
    ['external', all] as const,
    ...[...new Set(collections)].sort().map((c) => [`external ${c}`, all.filter((i) => collections[i] === c)] as const),
  ]) {
    console.log('');
    compareOn(
      title,
      external,
      withExternal.map((r) => ({ name: r.name, set: r.external! })),
      undefined,
      [...rows],
    );
  }
}
