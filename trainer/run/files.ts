// Typed readers of a run folder's JSON files, validated when read: a damaged config.json or
// history.json gives one message naming the file and the field ("history.json: [3].valBalancedAccuracy:
// expected number, got "x""), not a crash three modules later. Schemas use valibot (small, typed,
// tree-shakable; its issues carry the path of the bad field), and stay loose where files carry extra
// keys, so runs written by older versions of the trainer stay readable.
import * as v from 'valibot';
import type { Metrics } from '../../core/metrics.ts';
import { readJsonFile, readJsonIfExists } from './json.ts';
import { runPaths } from './layout.ts';
import { AUGMENT_NAMES, BALANCE_MODES, LR_SCHEDULES, QUANTIZATIONS, SELECT_ON, type EpochRecord, type TrainConfig } from './config.ts';

const num = v.number();
const nullableNum = v.nullable(v.number());

/** config.json of a training run (an ensemble's config.json is an object with kind: 'ensemble'). */
export const trainConfigSchema = v.looseObject({
  dataDir: v.string(),
  extraData: v.optional(v.array(v.string())),
  external: v.optional(v.array(v.string())),
  sourceRates: v.optional(v.record(v.string(), num)),
  dropSquashed: v.optional(v.boolean()),
  selectOn: v.optional(v.picklist(SELECT_ON)),
  outDir: v.string(),
  arch: v.string(),
  /** A side (square input), or "WxH" for a non-square one (--size 160x120). */
  size: v.union([num, v.custom<`${number}x${number}`>((x) => typeof x === 'string' && /^\d+x\d+$/.test(x), 'expected a number or WxH')]),
  epochs: num,
  batch: num,
  seed: num,
  splitSeed: v.optional(num),
  lr: num,
  lrSchedule: v.picklist(LR_SCHEDULES),
  warmupEpochs: v.optional(num),
  balance: v.picklist(BALANCE_MODES),
  labelSmoothing: num,
  augment: v.picklist(AUGMENT_NAMES),
  fieldOfView: v.optional(num),
  ema: v.optional(num),
  valFraction: num,
  testFraction: num,
  patience: num,
  tta: v.boolean(),
  quantize: v.picklist(QUANTIZATIONS),
  refitFrom: v.optional(v.string()),
  backbone: v.optional(v.string()),
  backboneSha256: v.optional(v.string()),
  headEpochs: v.optional(num),
  freezeUntil: v.optional(num),
  backboneLrScale: v.optional(num),
  weightDecay: v.optional(num),
  backboneNorm: v.optional(v.picklist(['folded', 'batchnorm'])),
  melanomaRecall: v.optional(num),
  kind: v.optional(v.string()),
});

export const epochRecordSchema = v.looseObject({
  epoch: num,
  loss: num,
  valLoss: nullableNum,
  valAccuracy: nullableNum,
  valBalancedAccuracy: nullableNum,
  valMacroF1: nullableNum,
  valMacroAuc: nullableNum,
  valBalancedAccuracyRaw: v.optional(num),
  extBalancedAccuracy: v.optional(num),
  extMacroAuc: v.optional(nullableNum),
  lr: num,
  seconds: num,
});
export const historySchema = v.array(epochRecordSchema);

export const checkpointStateSchema = v.looseObject({
  format: v.literal('dermlens-checkpoint-v1'),
  epoch: num,
  step: num,
  config: trainConfigSchema,
  history: historySchema,
  bestValBalancedAccuracy: num,
  bestEpoch: num,
  epochsWithoutImprovement: num,
  stoppedEarly: v.boolean(),
  savedAt: v.string(),
});

const splitPredictionsSchema = v.object({ imageIds: v.array(v.string()), labels: v.array(num), probs: v.array(v.array(num)) });
export const predictionsSchema = v.looseObject({
  temperature: num,
  tta: v.picklist(['none', 'flip']),
  refitFrom: v.optional(v.string()),
  val: v.optional(splitPredictionsSchema),
  test: splitPredictionsSchema,
  external: v.optional(v.object({ ...splitPredictionsSchema.entries, collections: v.array(v.string()) })),
});

const metricsSchema = v.looseObject({
  accuracy: num,
  balancedAccuracy: num,
  macroF1: num,
  macroAuc: nullableNum,
  ece: num,
  perClass: v.record(v.string(), v.any()),
});
/** metrics-detail.json: the final evaluation (evaluate/final-evaluation.ts FinalEvaluation) plus the backend. */
export const metricsDetailSchema = v.looseObject({
  temperature: num,
  tta: v.picklist(['none', 'flip']),
  val: metricsSchema,
  test: metricsSchema,
  variants: v.optional(v.record(v.string(), metricsSchema)),
  valEceUncalibrated: num,
  operatingPoint: v.optional(v.nullable(v.looseObject({ melanomaThreshold: num, targetValRecall: num, val: v.any(), test: v.any() }))),
  quantized: v.optional(v.looseObject({ dtype: v.string(), dir: v.string(), test: metricsSchema })),
  refitFrom: v.optional(v.string()),
  backend: v.optional(v.string()),
});

/** Checks `data` against `schema`; throws "<path>: <field>: <problem>" for the first bad field. */
export function parseRunFile<S extends v.GenericSchema>(schema: S, data: unknown, path: string): v.InferOutput<S> {
  const result = v.safeParse(schema, data);
  if (result.success) return result.output;
  const issue = result.issues[0];
  const field = v.getDotPath(issue);
  throw new Error(
    `${path}: ${field ? `field "${field}"` : 'the file'}: ${issue.message}; the file is damaged or was written by another program (rerun the command that writes it)`,
  );
}

async function readValidated<S extends v.GenericSchema>(schema: S, path: string, what: string): Promise<v.InferOutput<S>> {
  return parseRunFile(schema, await readJsonFile<unknown>(path, what), path);
}

async function readOptionalValidated<S extends v.GenericSchema>(
  schema: S,
  path: string,
  what: string,
): Promise<v.InferOutput<S> | undefined> {
  const data = await readJsonIfExists<unknown>(path, what);
  return data === undefined ? undefined : parseRunFile(schema, data, path);
}

export const readTrainConfig = async (runDir: string, what = 'run'): Promise<TrainConfig & { kind?: string }> =>
  (await readValidated(trainConfigSchema, runPaths(runDir).config, what)) as TrainConfig & { kind?: string };

export const readHistory = async (runDir: string): Promise<EpochRecord[] | undefined> =>
  (await readOptionalValidated(historySchema, runPaths(runDir).history, 'run')) as EpochRecord[] | undefined;

export type SplitPredictions = v.InferOutput<typeof splitPredictionsSchema>;
export type PredictionsFile = v.InferOutput<typeof predictionsSchema>;
export const readPredictions = (path: string, what = 'run'): Promise<PredictionsFile | undefined> =>
  readOptionalValidated(predictionsSchema, path, what);

/** metrics-detail.json, typed as the caller's final-evaluation shape (checked for the fields every reader uses). */
export async function readMetricsDetail<T = { val: Metrics; test: Metrics }>(runDir: string, what = 'run'): Promise<T | undefined> {
  return (await readOptionalValidated(metricsDetailSchema, runPaths(runDir).metricsDetail, what)) as T | undefined;
}
