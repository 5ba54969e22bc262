// `dermlens train --refit-from <run>`: once a recipe has been chosen on validation, train it again,
// unchanged, on that run's train + validation images, keep the last epoch, and evaluate once on the
// same untouched test images. Everything that has to be fitted on held-out data (flip mode, softmax
// temperature, melanoma alert threshold) is carried over from the reference run, because the refit
// has no held-out data left besides test; its validation numbers are the reference run's, and every
// file that shows them says so.
import { resolve } from 'node:path';
import { readJsonFile } from '../run/json.ts';
import { loadSplit, sameSides, type Split } from '../data/split.ts';
import { DEFAULT_TRAIN_CONFIG, RECIPE_KEYS, type TrainConfig } from '../run/config.ts';
import type { FinalEvaluation, ValidationFit } from '../evaluate/final-evaluation.ts';
import { runPaths } from '../run/layout.ts';

/** What a refit takes from its finished reference run. */
export interface RefitReference {
  dir: string;
  config: TrainConfig;
  split: Split;
  temperature: number;
  tta: 'none' | 'flip';
  melanomaThreshold: number | null;
  /** The reference's final evaluation: its validation metrics stand for the recipe's. */
  final: FinalEvaluation;
  /** The reference's calibrated validation predictions (predictions.json's val block). */
  valPredictions: { imageIds: string[]; labels: number[]; probs: number[][] };
}

/** The settings a refit takes from its reference: its whole recipe (what trains the network). */
export function refitConfig(reference: TrainConfig, referenceDir: string, outDir: string, dataDir?: string): TrainConfig {
  return {
    ...DEFAULT_TRAIN_CONFIG,
    ...reference,
    dataDir: resolve(dataDir ?? reference.dataDir),
    outDir: resolve(outDir),
    // Early stopping needs validation data, which the refit trains on.
    patience: 0,
    refitFrom: resolve(referenceDir),
  };
}

/** Reads and checks a finished training run for use as a refit's reference. */
export async function loadRefitReference(dir: string): Promise<RefitReference> {
  const abs = resolve(dir);
  const what = `refit reference ${abs}`;
  const paths = runPaths(abs);
  const config = await readJsonFile<TrainConfig & { kind?: string }>(paths.config, what);
  if (config.kind) throw new Error(`${what} is an ${config.kind}, not a training run: refit one training run's recipe`);
  if (config.refitFrom) throw new Error(`${what} is itself a refit (of ${config.refitFrom}); refit the run that was validated`);
  const final = await readJsonFile<FinalEvaluation>(paths.metricsDetail, `${what} has not finished training`);
  const predictions = await readJsonFile<{ val: RefitReference['valPredictions'] }>(paths.predictions, what);
  const model = await readJsonFile<{ userDefinedMetadata?: { dermlens?: { melanomaThreshold?: number | null } } }>(paths.bestModel, what);
  const split = await loadSplit(paths.split);
  const melanomaThreshold = model.userDefinedMetadata?.dermlens?.melanomaThreshold ?? null;
  if (melanomaThreshold !== null && !final.operatingPoint)
    throw new Error(`${what}: metrics-detail.json lacks the melanoma operating point its model uses`);
  return {
    dir: abs,
    config,
    split,
    temperature: final.temperature,
    tta: final.tta,
    melanomaThreshold,
    final,
    valPredictions: predictions.val,
  };
}

/** Throws unless `config` repeats the reference's recipe exactly. */
export function checkRefitRecipe(reference: RefitReference, config: TrainConfig): void {
  const ref: TrainConfig = { ...DEFAULT_TRAIN_CONFIG, ...reference.config };
  const diffs = RECIPE_KEYS.filter((k) => JSON.stringify(ref[k]) !== JSON.stringify(config[k])).map(
    (k) => `${k}: reference ${JSON.stringify(ref[k])}, refit ${JSON.stringify(config[k])}`,
  );
  if (diffs.length) throw new Error(`a refit must use its reference's recipe unchanged (${diffs.join('; ')})`);
}

/** Throws unless the refit drew the reference's split (it would not, were the metadata CSV different). */
export function checkRefitSplit(reference: RefitReference, split: Split): void {
  if (!sameSides(reference.split, split)) {
    throw new Error(
      `the split drawn for this refit differs from ${reference.dir}'s (was HAM10000_metadata.csv changed?); a refit must keep the reference's test images unseen`,
    );
  }
}

/** What a refit takes instead of fitting on validation: its reference's settings and validation evidence. */
export function carriedFit(reference: RefitReference): ValidationFit {
  const point = reference.final.operatingPoint;
  return {
    tta: reference.tta,
    temperature: reference.temperature,
    melanoma:
      reference.melanomaThreshold === null
        ? null
        : { threshold: reference.melanomaThreshold, targetValRecall: point!.targetValRecall, val: point!.val },
    val: reference.final.val,
    valEceUncalibrated: reference.final.valEceUncalibrated,
    valVariants: {},
    valPredictions: reference.valPredictions,
    testModes: [reference.tta],
    from: reference.dir,
  };
}
