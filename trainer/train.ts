// `dermlens train`: trains a model on HAM10000 with a lesion-grouped split, checkpointing every epoch
// so a killed run resumes with nothing lost, keeps the best model by validation balanced accuracy,
// calibrates a softmax temperature on validation, and evaluates once on the test split.
//
// The step is a custom loop (optimizer.minimize on model.apply(x, {training: true})) rather than
// model.fit, for class weights, label smoothing, per-step learning rates and dropout seeds. It trains
// exactly as fit does: tfjs-layers' BatchNormalization.call() with training=true normalises with the
// batch moments and updates its moving mean/variance itself (the same code path fit runs), and Dropout
// is active; the e2e test checks both.
import { mkdir, readFile, readdir, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tf } from '../core/tf.ts';
import { CLASS_CODES, NUM_CLASSES } from '../core/labels.ts';
import { buildModel } from '../core/models.ts';
import { copyMobileNetV2Backbone, initialiseBatchNormFromData, mobilenetV2BlockOf } from '../core/mobilenet-v2.ts';
import { loadBackbone, type LoadedBackbone } from './backbone.ts';
import { computeMetrics, thresholdForRecall, thresholdStats, type Metrics } from '../core/metrics.ts';
import { ORIGINAL_AUGMENT, STRONG_AUGMENT, augmentBatch, type AugmentOptions } from './augment.ts';
import { fitTemperature, applyTemperature } from './calibrate.ts';
import { copyWeights, emaDecayAt, updateAverage } from './ema.ts';
import { findCheckpoint, readCheckpointState, restoreCheckpoint, saveCheckpoint, type CheckpointState } from './checkpoint.ts';
import { installFastCpuKernels } from './cpu-kernels.ts';
import { loadDataset, toTensors, type Dataset } from './dataset.ts';
import { dermlensMetadata, exportModel } from './export-model.ts';
import { balancedClassWeights, meanNll, weightedCrossEntropy, type LossOptions } from './loss.ts';
import { parseHamMetadata, type LabelledImage } from './metadata.ts';
import { fileLoadHandler } from './model-io.ts';
import { metricsJson } from './evaluate.ts';
import { predictDataset } from './predict.ts';
import { writeRunReport } from './run-report.ts';
import { appendProvenance, currentProvenance } from './provenance.ts';
import type { EpochRecord } from './train-config.ts';

export type { EpochRecord };
import { epochProgress, formatDuration } from './progress.ts';
import { makeRng, shuffleInPlace } from './rng.ts';
import { learningRateAt } from './schedule.ts';
import { carriedFit, checkRefitRecipe, checkRefitSplit, loadRefitReference, type RefitReference } from './refit.ts';
import { loadSplit, saveSplit, splitByLesion, splitIndices, type Split } from './split.ts';
import { DEFAULT_TRAIN_CONFIG, resumeConflict, splitSeedOf, validateConfig, type TrainConfig } from './train-config.ts';

export { DEFAULT_TRAIN_CONFIG, type TrainConfig } from './train-config.ts';

export const METADATA_FILE = 'HAM10000_metadata.csv';
/** Calibrated val/test probabilities of the final model (for the report's ROC curves and later analysis). */
export const PREDICTIONS_FILE = 'predictions.json';
/** The quantized copy's calibrated test predictions (--quantize). */
export const quantizedPredictionsFile = (dtype: string) => `predictions-${dtype}.json`;


export interface TrainOptions {
  /** Continue the run in outDir from its last complete checkpoint. */
  resume?: boolean;
  /** Folder for the decoded-dataset cache; undefined = no cache. */
  cacheDir?: string;
  /** One line per message; default console.log. */
  log?: (line: string) => void;
  /** Progress bar style; default: a bar when stdout is a TTY, else plain lines. */
  progress?: 'tty' | 'plain' | 'off';
  /** The backend description, recorded in metrics-detail.json and the report. */
  backend?: string;
  /** Return (as if killed) after this many epochs have completed in this call. For tests of --resume. */
  stopAfterEpochs?: number;
}

/**
 * Melanoma recall wanted on validation when choosing the alert threshold. Well above the 0.70 goal on
 * purpose: a threshold tuned to exactly 0.70 on 167 validation melanomas lands below it on new data
 * about half the time, and 0.80 was not margin enough either (the first shipped model: 0.80 on
 * validation, 0.695 on test). Set to 0.85 before the second model's test split was looked at; it costs
 * precision, which the model card reports beside it.
 */
export const MELANOMA_TARGET_VAL_RECALL = 0.85;
/** The run's validation recall target for the alert (--melanoma-recall; runs saved before it existed used the default). */
const melanomaRecallOf = (c: { melanomaRecall?: number }) => c.melanomaRecall ?? MELANOMA_TARGET_VAL_RECALL;

export interface MelanomaOperatingPoint {
  melanomaThreshold: number;
  targetValRecall: number;
  val: { recall: number; precision: number; flagged: number };
  test: { recall: number; precision: number; flagged: number };
}

export interface FinalEvaluation {
  temperature: number;
  tta: 'none' | 'flip';
  /** Calibrated metrics with the shipped inference settings. */
  val: Metrics;
  test: Metrics;
  /** Every evaluated variant, keyed "val/none", "test/flip", ... (calibrated). */
  variants: Record<string, Metrics>;
  valEceUncalibrated: number;
  /** The melanoma alert operating point (chosen on val) and what it gives on val and test. */
  operatingPoint: MelanomaOperatingPoint | null;
  /**
   * The quantized copy (--quantize) evaluated on test with the same settings: its metrics, and its
   * melanoma alert's test recall/precision at the threshold chosen on validation (float32). Its
   * calibrated test predictions are in predictions-<dtype>.json, so a model card of the quantized
   * weights (what ships when the float32 ones are too big) has every test number of its own.
   */
  quantized?: { dtype: string; dir: string; test: Metrics; operatingPointTest?: MelanomaOperatingPoint['test'] };
  /** Set for a refit: the run whose temperature, flip mode, melanoma threshold and validation metrics these are. */
  refitFrom?: string;
}

export interface TrainResult {
  outDir: string;
  /** False when stopAfterEpochs ended the call before training finished. */
  completed: boolean;
  epochsCompleted: number;
  bestEpoch: number;
  bestValBalancedAccuracy: number;
  stoppedEarly: boolean;
  history: EpochRecord[];
  final?: FinalEvaluation;
}

type State = Omit<CheckpointState<TrainConfig, EpochRecord>, 'format' | 'savedAt'>;

const exists = (path: string) => stat(path).then(() => true, () => false);

export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(value, null, 1)}\n`);
  await rename(temp, path);
}

/** A 32-bit hash of integers, to derive independent seeds for (seed, epoch, purpose) streams. */
export function mixSeed(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const part of parts) {
    h = Math.imul(h ^ (part >>> 0), 0x01000193);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    h ^= h >>> 12;
  }
  return h >>> 0;
}

const STREAM = { shuffle: 1, augment: 2, dropout: 3 } as const;

/** Finds HAM10000_metadata.csv in dataDir or one folder below it. */
export async function findMetadataFile(dataDir: string): Promise<string> {
  let entries;
  try {
    entries = await readdir(dataDir, { withFileTypes: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `data folder not found: ${dataDir}` : `cannot read data folder ${dataDir}: ${(err as Error).message}`);
  }
  if (entries.some((e) => e.isFile() && e.name === METADATA_FILE)) return join(dataDir, METADATA_FILE);
  for (const e of entries) {
    if (e.isDirectory() && await exists(join(dataDir, e.name, METADATA_FILE))) return join(dataDir, e.name, METADATA_FILE);
  }
  throw new Error(`${METADATA_FILE} not found in ${dataDir} (or a folder directly below it)`);
}

/** Training-set order for one epoch: a shuffle, or with balanced sampling, n draws of (uniform class, uniform image of it). */
export function epochOrder(trainIdx: readonly number[], labelOf: (index: number) => number, balanceSampling: boolean, rng: () => number): number[] {
  if (!balanceSampling) return shuffleInPlace([...trainIdx], rng);
  const byClass: number[][] = Array.from({ length: NUM_CLASSES }, () => []);
  for (const i of trainIdx) byClass[labelOf(i)].push(i);
  const present = byClass.filter((c) => c.length > 0);
  return trainIdx.map(() => {
    const members = present[Math.floor(rng() * present.length)];
    return members[Math.floor(rng() * members.length)];
  });
}

/**
 * tfjs' Dropout with a fixed seed draws the same mask on every call (tf.dropout re-seeds its generator
 * each time), and without one it uses Math.random, which cannot be replayed on resume. So each step gets
 * fresh seeds derived from (run seed, step): masks vary per step and a resumed run replays them exactly.
 */
export function reseedDropout(model: tf.LayersModel, seed: number, step: number): void {
  model.layers.forEach((layer, i) => {
    if (layer.getClassName() === 'Dropout') (layer as unknown as { seed?: number }).seed = mixSeed(seed, STREAM.dropout, step, i);
  });
}

/**
 * One optimisation step: forward pass in training mode (batch statistics; BatchNormalization updates
 * its moving mean/variance inside call(), exactly as under model.fit; Dropout active), loss, gradients
 * of varList, Adam update. Returns the batch loss (the caller disposes it).
 */
export function trainStep(model: tf.LayersModel, optimizer: tf.Optimizer, varList: tf.Variable[], x: tf.Tensor4D, y: tf.Tensor2D, loss: LossOptions): tf.Scalar {
  return trainStepGroups(model, [{ optimizer, vars: varList, weightDecay: 0 }], x, y, loss);
}

/**
 * Variables that share one optimizer and learning rate: a pretrained backbone trains at a fraction of
 * the new head's rate, and during the head warm-up not at all (its group is left out of the step, so
 * no gradient is computed for it). `weightDecay` is decoupled (AdamW): kernels shrink by lr * decay.
 */
export interface ParamGroup { optimizer: tf.Optimizer; vars: tf.Variable[]; weightDecay: number }

/** trainStep over several parameter groups: one backward pass, then each group's own update. */
export function trainStepGroups(model: tf.LayersModel, groups: ParamGroup[], x: tf.Tensor4D, y: tf.Tensor2D, loss: LossOptions): tf.Scalar {
  const active = groups.filter((g) => g.vars.length > 0);
  const { value, grads } = tf.variableGrads(
    () => weightedCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor2D, loss), active.flatMap((g) => g.vars));
  try {
    for (const group of active) {
      // The array form keeps the optimizer's moment slots matched to the variables by position.
      group.optimizer.applyGradients(group.vars.map((v) => ({ name: v.name, tensor: grads[v.name] })));
      if (group.weightDecay > 0) {
        const shrink = 1 - (group.optimizer as unknown as { learningRate: number }).learningRate * group.weightDecay;
        tf.tidy(() => group.vars.filter(isKernel).forEach((v) => v.assign(tf.mul(v, shrink))));
      }
    }
  } finally {
    tf.dispose(grads);
  }
  return value;
}

/** Conv, depthwise and dense kernels take weight decay; biases do not (as is usual). */
const isKernel = (v: tf.Variable) => /kernel(_\d+)?$/.test(v.name);

/**
 * The parameter groups of a run. Every architecture has the head group (for seed and compact: every
 * trainable weight, at --lr). MobileNetV2 adds the backbone group at --lr * --backbone-lr-scale; the stem
 * and blocks below --freeze-until are set untrainable and belong to neither. Adam matches its moment slots
 * to variables by position, so each group's variable list is explicit and stable across a run.
 */
export function paramGroups(model: tf.LayersModel, config: Pick<TrainConfig, 'arch' | 'lr' | 'freezeUntil' | 'backboneLrScale' | 'weightDecay'>):
  { head: ParamGroup; backbone?: ParamGroup } {
  const group = (vars: tf.Variable[], lr: number): ParamGroup => ({ optimizer: tf.train.adam(lr), vars, weightDecay: config.weightDecay });
  if (config.arch !== 'mobilenetv2') return { head: group(model.trainableWeights.map((w) => w.read() as tf.Variable), config.lr) };
  for (const layer of model.layers) {
    const block = mobilenetV2BlockOf(layer.name);
    if (block !== null && config.freezeUntil > 0 && block < config.freezeUntil) layer.trainable = false;
  }
  const head: tf.Variable[] = [];
  const backbone: tf.Variable[] = [];
  for (const layer of model.layers) {
    if (!layer.trainable) continue;
    const vars = layer.trainableWeights.map((w) => w.read() as tf.Variable);
    (mobilenetV2BlockOf(layer.name) === null ? head : backbone).push(...vars);
  }
  return { head: group(head, config.lr), backbone: group(backbone, config.lr * config.backboneLrScale) };
}

/**
 * What one optimisation step needs, built once per run: the model (with the backbone's weights copied
 * in), the weight average, the parameter groups with their optimizers, the loss and augmentation
 * settings. `dermlens train` and `npm run bench:train` both step through trainOneBatch with it, so the
 * benchmark times the trainer's own step.
 */
export interface Stepper {
  model: tf.LayersModel;
  average?: tf.LayersModel;
  groups: { head: ParamGroup; backbone?: ParamGroup };
  config: Pick<TrainConfig, 'seed' | 'ema' | 'headEpochs' | 'backboneLrScale'>;
  loss: LossOptions;
  augment: AugmentOptions | null;
}

/** Builds a run's Stepper; `backbone` (its model stays the caller's to dispose) supplies pretrained weights. */
export function createStepper(config: TrainConfig, backbone: LoadedBackbone | null, classWeights: number[] | null, log: (line: string) => void = () => {}): Stepper {
  const build = () => buildModel(config.arch, {
    inputSize: config.size, seed: config.seed, ...(backbone ? { rescaling: backbone.info.rescaling } : {}),
    ...(config.backboneNorm ? { normalization: config.backboneNorm } : {}),
  });
  const model = build();
  if (backbone) {
    const copied = copyMobileNetV2Backbone(model, backbone.model, config.backbone);
    log(`backbone: ${copied} pretrained convolutions from ${backbone.info.sourceFile} (sha256 ${backbone.info.sha256.slice(0, 12)}...)`);
  }
  // With --ema, a second copy holds the weight average; it is what gets validated, kept as best and shipped.
  const average = config.ema > 0 ? build() : undefined;
  if (average) copyWeights(average, model);
  return {
    model, average, groups: paramGroups(model, config), config,
    loss: { labelSmoothing: config.labelSmoothing, classWeights }, augment: augmentOptions(config.augment),
  };
}

const setLearningRate = (opt: tf.Optimizer, lr: number) => { (opt as unknown as { learningRate: number }).learningRate = lr; };

/**
 * One batch as the trainer trains it: augmentation, the learning rates at this step, the dropout seed,
 * forward and backward, each group's update, the weight average. Takes ownership of `raw` and `y`;
 * returns the batch loss.
 */
export async function trainOneBatch(s: Stepper, raw: tf.Tensor4D, y: tf.Tensor2D,
  at: { step: number; epoch: number; lr: number; augRng: () => number }): Promise<number> {
  const x = s.augment ? augmentBatch(raw, at.augRng, s.augment) : raw;
  if (s.augment) raw.dispose();
  setLearningRate(s.groups.head.optimizer, at.lr);
  if (s.groups.backbone) setLearningRate(s.groups.backbone.optimizer, at.lr * s.config.backboneLrScale);
  reseedDropout(s.model, s.config.seed, at.step);
  // The first --head-epochs train the new head alone on the frozen pretrained features.
  const active = s.groups.backbone && at.epoch > s.config.headEpochs ? [s.groups.head, s.groups.backbone] : [s.groups.head];
  const loss = trainStepGroups(s.model, active, x, y, s.loss);
  if (s.average) updateAverage(s.average, s.model, emaDecayAt(s.config.ema, at.step));
  const value = (await loss.data())[0];
  tf.dispose([loss, x, y]);
  return value;
}

function augmentOptions(name: TrainConfig['augment']): AugmentOptions | null {
  return name === 'original' ? ORIGINAL_AUGMENT : name === 'strong' ? STRONG_AUGMENT : null;
}

async function prepareRunDir(config: TrainConfig, resume: boolean): Promise<{ checkpointDir: string | null }> {
  const configPath = join(config.outDir, 'config.json');
  if (resume) {
    if (!(await exists(configPath))) throw new Error(`nothing to resume: ${configPath} does not exist`);
    const saved = JSON.parse(await readFile(configPath, 'utf8')) as TrainConfig;
    const conflict = resumeConflict(saved, config);
    if (conflict) throw new Error(`cannot resume ${config.outDir} with a different configuration (${conflict})`);
    // What may change on resume (TTA, quantization, patience, folders) shapes the run's final files, so
    // config.json records the settings of the call that finishes the run.
    await writeJsonAtomic(configPath, config);
    await appendProvenance(config.outDir, currentProvenance(true));
    return { checkpointDir: await findCheckpoint(config.outDir) };
  }
  // A folder with only config.json is a start that failed before the first epoch (e.g. bad data): reuse it.
  if (await findCheckpoint(config.outDir)) {
    throw new Error(`${config.outDir} already holds a training run; pass --resume to continue it or choose another --out`);
  }
  await mkdir(config.outDir, { recursive: true });
  await writeJsonAtomic(configPath, config);
  await appendProvenance(config.outDir, currentProvenance(false));
  return { checkpointDir: null };
}

async function makeOrLoadSplit(config: TrainConfig, items: LabelledImage[], metadataPath: string, resume: boolean): Promise<Split> {
  const path = join(config.outDir, 'split.json');
  const seed = splitSeedOf(config);
  if (resume && await exists(path)) {
    const saved = await loadSplit(path);
    if (saved.seed !== seed || saved.valFraction !== config.valFraction || saved.testFraction !== config.testFraction) {
      throw new Error(`${path} was made with seed ${saved.seed}, fractions ${saved.valFraction}/${saved.testFraction}, which does not match the run config`);
    }
    return saved;
  }
  const split = splitByLesion(items, { seed, valFraction: config.valFraction, testFraction: config.testFraction });
  await saveSplit(path, split, { seed, valFraction: config.valFraction, testFraction: config.testFraction, items, source: metadataPath });
  return split;
}

function classCounts(ds: Dataset, indices: readonly number[]): string {
  const counts = new Array<number>(NUM_CLASSES).fill(0);
  for (const i of indices) counts[ds.items[i].label]++;
  return CLASS_CODES.map((c, k) => `${c} ${counts[k]}`).join(', ');
}

export async function train(config: TrainConfig, options: TrainOptions = {}): Promise<TrainResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  validateConfig(config);
  const resume = options.resume ?? false;
  if (tf.getBackend() === 'cpu') installFastCpuKernels();

  // Inputs first, so bad data fails before anything is written.
  const metadataPath = await findMetadataFile(config.dataDir);
  const items = parseHamMetadata(await readFile(metadataPath, 'utf8'), metadataPath);
  const reference = config.refitFrom ? await loadRefitReference(config.refitFrom) : null;
  if (reference) checkRefitRecipe(reference, config);
  // The backbone is read before anything is written, and its sha256 joins the recipe: a resumed run or
  // a refit that would start from another file is refused.
  const backbone = config.backbone ? await loadBackbone(config.backbone) : null;
  if (backbone) {
    if (config.backboneSha256 && config.backboneSha256 !== backbone.info.sha256) {
      backbone.model.dispose();
      throw new Error(`${config.backbone} is not the backbone this run started from (sha256 ${backbone.info.sha256}, config.json has ${config.backboneSha256})`);
    }
    config.backboneSha256 = backbone.info.sha256;
  }
  const { checkpointDir } = await prepareRunDir(config, resume);
  const split = await makeOrLoadSplit(config, items, metadataPath, resume);
  if (reference) checkRefitSplit(reference, split);

  log(`loading ${items.length} images from ${config.dataDir} at ${config.size} px${options.cacheDir ? ` (cache: ${options.cacheDir})` : ''}`);
  const loadStart = Date.now();
  let lastReport = 0;
  const ds = await loadDataset({
    images: items, imageDir: config.dataDir, size: config.size, cacheDir: options.cacheDir,
    onProgress: (done, total) => {
      if (options.progress !== 'off' && (Date.now() - lastReport > 10_000 || done === total) && done > 0) {
        lastReport = Date.now();
        log(`  decoded ${done}/${total}`);
      }
    },
  });
  log(`loaded ${ds.items.length} images in ${formatDuration((Date.now() - loadStart) / 1000)}${ds.cache.status !== 'off' ? ` (cache ${ds.cache.status})` : ''}`);
  if (ds.skipped.length) {
    log(`skipped ${ds.skipped.length} image(s):`);
    for (const s of ds.skipped.slice(0, 10)) log(`  ${s.imageId}: ${s.reason}`);
    if (ds.skipped.length > 10) log(`  ... and ${ds.skipped.length - 10} more`);
  }
  const idx = splitIndices(ds.items, split);
  for (const side of ['train', 'val', 'test'] as const) {
    if (idx[side].length === 0) throw new Error(`the ${side} split has no loadable images (${split[side].length} listed, all missing or unreadable)`);
  }
  log(`split: train ${idx.train.length}, val ${idx.val.length}, test ${idx.test.length} images (whole lesions per side)`);
  // A refit trains on train + val; test stays unseen either way.
  const fitIdx = reference ? [...idx.train, ...idx.val] : idx.train;
  if (reference) log(`refit of ${reference.dir}: training on train + val (${fitIdx.length} images), keeping the last epoch`);
  log(`  training classes: ${classCounts(ds, fitIdx)}`);

  const labelOf = (i: number) => ds.items[i].label;
  const valLabels = idx.val.map(labelOf);
  const testLabels = idx.test.map(labelOf);
  const classWeights = config.balance === 'weights' ? balancedClassWeights(fitIdx.map(labelOf), NUM_CLASSES) : null;
  if (classWeights) log(`class weights: ${CLASS_CODES.map((c, k) => `${c} ${classWeights[k].toFixed(2)}`).join(', ')}`);

  let stepper: Stepper;
  try {
    stepper = createStepper(config, backbone, classWeights, log);
  } finally {
    backbone?.model.dispose();
  }
  const { model, average, groups } = stepper;
  // Re-added BatchNorm starts as the identity on the data: statistics from the first 64 training images
  // (a resumed run restores its trained values instead).
  if (config.backboneNorm === 'batchnorm' && !resume) {
    const { x, y } = toTensors(ds, fitIdx.slice(0, 64));
    log(`re-added BatchNorm: ${initialiseBatchNormFromData(model, x)} layers initialised from ${x.shape[0]} training images`);
    tf.dispose([x, y]);
    if (average) copyWeights(average, model);
  }
  const optimizer = groups.head.optimizer;
  const backboneOptimizer = groups.backbone?.optimizer;
  const stepsPerEpoch = Math.ceil(fitIdx.length / config.batch);
  const schedule = {
    lr: config.lr, schedule: config.lrSchedule, warmupSteps: config.warmupEpochs * stepsPerEpoch, totalSteps: config.epochs * stepsPerEpoch,
  };

  let state: State = {
    epoch: 0, step: 0, config, history: [], bestValBalancedAccuracy: -1, bestEpoch: 0, epochsWithoutImprovement: 0, stoppedEarly: false,
  };
  if (resume && checkpointDir) {
    const saved = await readCheckpointState<TrainConfig, EpochRecord>(checkpointDir);
    await restoreCheckpoint(checkpointDir, model, optimizer, average, backboneOptimizer);
    // Patience may change on resume, so whether the run has stopped early is re-decided with the new value.
    const stoppedEarly = config.patience > 0 && saved.epochsWithoutImprovement >= config.patience && saved.epoch < config.epochs;
    state = { ...saved, config, stoppedEarly };
    log(`resumed from ${checkpointDir} after epoch ${state.epoch}${reference ? '' : ` (best val balanced accuracy ${state.bestValBalancedAccuracy.toFixed(4)} at epoch ${state.bestEpoch})`}`);
  } else if (resume) {
    log(`no checkpoint in ${config.outDir} yet: starting from epoch 1`);
  }
  log(`model ${config.arch} at ${config.size} px: ${model.countParams().toLocaleString('en-US')} parameters; ${stepsPerEpoch} batches of ${config.batch} per epoch`);

  const bestDir = join(config.outDir, 'best');
  let epochsThisCall = 0;

  try {
    while (state.epoch < config.epochs && !state.stoppedEarly) {
      const epoch = state.epoch + 1;
      const started = Date.now();
      const order = epochOrder(fitIdx, labelOf, config.balance === 'sampling', makeRng(mixSeed(config.seed, STREAM.shuffle, epoch)));
      const augRng = makeRng(mixSeed(config.seed, STREAM.augment, epoch));
      const progress = options.progress === 'off' ? null
        : epochProgress(`epoch ${epoch}/${config.epochs}`, stepsPerEpoch, options.progress ? { tty: options.progress === 'tty' } : {});
      let lossSum = 0;
      let lr = config.lr;
      const tensorsBefore = tf.memory().numTensors;
      for (let b = 0; b < stepsPerEpoch; b++) {
        const batchIdx = order.slice(b * config.batch, (b + 1) * config.batch);
        const { x: raw, y } = toTensors(ds, batchIdx);
        lr = learningRateAt(state.step, schedule);
        const value = await trainOneBatch(stepper, raw, y, { step: state.step, epoch, lr, augRng });
        if (!Number.isFinite(value)) throw new Error(`the loss became ${value} at epoch ${epoch}, batch ${b + 1}; try a lower --lr`);
        lossSum += value;
        state.step++;
        progress?.update(b + 1, lossSum / (b + 1));
      }
      progress?.stop();
      const trainSeconds = (Date.now() - started) / 1000;

      const shipped = average ?? model;
      // A refit has no held-out images to score an epoch on (it trains on val), so it keeps the latest.
      const valProbs = reference ? null : await predictDataset(shipped, ds, idx.val);
      const m = valProbs ? computeMetrics(valLabels, valProbs) : null;
      const rawBalancedAccuracy = average && m ? computeMetrics(valLabels, await predictDataset(model, ds, idx.val)).balancedAccuracy : undefined;
      const record: EpochRecord = {
        epoch, loss: lossSum / stepsPerEpoch, valLoss: valProbs ? meanNll(valLabels, valProbs) : null, valAccuracy: m?.accuracy ?? null,
        valBalancedAccuracy: m?.balancedAccuracy ?? null, valMacroF1: m?.macroF1 ?? null, valMacroAuc: m?.macroAuc ?? null,
        ...(rawBalancedAccuracy === undefined ? {} : { valBalancedAccuracyRaw: rawBalancedAccuracy }),
        lr, seconds: (Date.now() - started) / 1000,
      };
      const improved = m === null || m.balancedAccuracy > state.bestValBalancedAccuracy;
      if (improved) {
        await exportModel(shipped, bestDir, dermlensMetadata({ arch: config.arch, inputSize: config.size }));
        state.bestValBalancedAccuracy = m?.balancedAccuracy ?? -1;
        state.bestEpoch = epoch;
        state.epochsWithoutImprovement = 0;
      } else {
        state.epochsWithoutImprovement++;
      }
      state.history.push(record);
      state.epoch = epoch;
      if (config.patience > 0 && state.epochsWithoutImprovement >= config.patience && epoch < config.epochs) state.stoppedEarly = true;
      await saveCheckpoint(config.outDir, model, optimizer, state, average, backboneOptimizer);
      await writeJsonAtomic(join(config.outDir, 'history.json'), state.history);
      const valPart = m === null ? 'val: trained on (refit)'
        : `val_loss ${record.valLoss?.toFixed(4)}  val_bal_acc ${m.balancedAccuracy.toFixed(4)}`
          + `${rawBalancedAccuracy === undefined ? '' : ` (raw weights ${rawBalancedAccuracy.toFixed(4)})`}  val_auc ${m.macroAuc === null ? 'n/a' : m.macroAuc.toFixed(4)}`;
      log(`epoch ${epoch}/${config.epochs}  loss ${record.loss.toFixed(4)}  ${valPart}  `
        + `lr ${lr.toExponential(2)}  ${formatDuration(record.seconds)} (train ${formatDuration(trainSeconds)})${improved && m ? '  * best' : ''}`
        + `  tensors ${tf.memory().numTensors - tensorsBefore >= 0 ? '+' : ''}${tf.memory().numTensors - tensorsBefore}`);
      if (state.stoppedEarly) log(`early stopping: no improvement in val balanced accuracy for ${config.patience} epochs`);
      epochsThisCall++;
      if (options.stopAfterEpochs !== undefined && epochsThisCall >= options.stopAfterEpochs && state.epoch < config.epochs && !state.stoppedEarly) {
        return { outDir: config.outDir, completed: false, epochsCompleted: state.epoch, bestEpoch: state.bestEpoch,
          bestValBalancedAccuracy: state.bestValBalancedAccuracy, stoppedEarly: false, history: state.history };
      }
    }
  } finally {
    model.dispose();
    average?.dispose();
    optimizer.dispose();
    backboneOptimizer?.dispose();
  }

  const final = await finalEvaluation(config, ds, idx, valLabels, testLabels, options, log, reference);
  const result: TrainResult = {
    outDir: config.outDir, completed: true, epochsCompleted: state.epoch, bestEpoch: state.bestEpoch,
    bestValBalancedAccuracy: state.bestValBalancedAccuracy, stoppedEarly: state.stoppedEarly, history: state.history, final,
  };
  const reportPath = await writeRunReport(config.outDir, { backend: options.backend });
  log(`report: ${reportPath}`);
  return result;
}

/** What the final evaluation needs of a run's configuration (a training run's, or an ensemble's). */
export type FinalEvaluationConfig = Pick<TrainConfig, 'outDir' | 'arch' | 'size' | 'tta' | 'quantize'> & { melanomaRecall?: number };

/**
 * What is fitted on held-out data (flip mode, temperature, melanoma threshold) and the validation
 * evidence for it: fitted on the run's own validation predictions (fitOnValidation), or carried over
 * from the validated run a refit repeats (trainer/refit.ts carriedFit).
 */
export interface ValidationFit {
  tta: 'none' | 'flip';
  temperature: number;
  /** The melanoma alert threshold and what it gives on validation; null: no alert rule. */
  melanoma: { threshold: number; targetValRecall?: number; val: MelanomaOperatingPoint['val'] } | null;
  /** Calibrated validation metrics with the chosen settings. */
  val: Metrics;
  valEceUncalibrated: number;
  /** Calibrated metrics of every evaluated flip mode on validation, keyed "val/none", "val/flip". */
  valVariants: Record<string, Metrics>;
  /** Calibrated validation predictions with the chosen settings (predictions.json's val block). */
  valPredictions: { imageIds: string[]; labels: number[]; probs: number[][] };
  /** The flip modes to evaluate on test. */
  testModes: Array<'none' | 'flip'>;
  /** Set when carried over: the run they were fitted on. */
  from?: string;
}

/** Calibrated probabilities, rounded for the predictions file. */
const calibratedRows = (raw: Float32Array[], temperature: number) =>
  raw.map((p) => Array.from(applyTemperature(p, temperature), (v) => Number(v.toPrecision(6))));

/** Picks the flip mode on val, fits the temperature on val, chooses the melanoma threshold on val. */
async function fitOnValidation(best: tf.LayersModel, ds: Dataset, valIdx: number[], valLabels: number[], modes: Array<'none' | 'flip'>,
  melanomaRecall: number): Promise<ValidationFit> {
  const raw: Record<string, Float32Array[]> = {};
  for (const tta of modes) raw[tta] = await predictDataset(best, ds, valIdx, { temperature: 1, tta });
  const tta = modes.reduce((a, b) => (computeMetrics(valLabels, raw[b]).balancedAccuracy > computeMetrics(valLabels, raw[a]).balancedAccuracy ? b : a));
  const temperature = fitTemperature(valLabels, raw[tta]);
  const valVariants = Object.fromEntries(modes.map((mode) => [`val/${mode}`, computeMetrics(valLabels, raw[mode].map((p) => applyTemperature(p, temperature)))]));
  const mel = CLASS_CODES.indexOf('mel');
  const isMel = valLabels.map((l) => l === mel);
  const melScores = raw[tta].map((p) => applyTemperature(p, temperature)[mel]);
  // Without validation melanomas there is nothing to choose a threshold from: no alert rule then.
  const threshold = isMel.includes(true) ? thresholdForRecall(isMel, melScores, melanomaRecall) : null;
  return {
    tta, temperature,
    melanoma: threshold === null ? null : { threshold, targetValRecall: melanomaRecall, val: thresholdStats(isMel, melScores, threshold) },
    val: valVariants[`val/${tta}`], valEceUncalibrated: computeMetrics(valLabels, raw[tta]).ece, valVariants,
    valPredictions: { imageIds: valIdx.map((i) => ds.items[i].imageId), labels: valLabels, probs: calibratedRows(raw[tta], temperature) },
    testModes: modes,
  };
}

/**
 * Fits the model in outDir/best on val (or, for a refit, takes what its reference fitted), evaluates
 * test once with the result, and re-exports best/ (and the quantized copy) with it.
 */
export async function finalEvaluation(config: FinalEvaluationConfig, ds: Dataset, idx: { val: number[]; test: number[] }, valLabels: number[], testLabels: number[],
  options: TrainOptions, log: (line: string) => void, reference: RefitReference | null = null): Promise<FinalEvaluation> {
  const bestDir = join(config.outDir, 'best');
  const best = await tf.loadLayersModel(fileLoadHandler(join(bestDir, 'model.json')));
  try {
    // Choose on validation only; test is looked at once, with the choice already made.
    const fit = reference ? carriedFit(reference) : await fitOnValidation(best, ds, idx.val, valLabels, config.tta ? ['none', 'flip'] : ['none'], melanomaRecallOf(config));
    const { tta, temperature } = fit;
    const rawTest: Record<string, Float32Array[]> = {};
    const variants: Record<string, Metrics> = {};
    for (const mode of fit.testModes) {
      rawTest[mode] = await predictDataset(best, ds, idx.test, { temperature: 1, tta: mode });
      if (fit.valVariants[`val/${mode}`]) variants[`val/${mode}`] = fit.valVariants[`val/${mode}`];
      variants[`test/${mode}`] = computeMetrics(testLabels, rawTest[mode].map((p) => applyTemperature(p, temperature)));
    }
    await writeJsonAtomic(join(config.outDir, PREDICTIONS_FILE), {
      temperature, tta,
      ...(fit.from ? { refitFrom: fit.from } : {}),
      val: fit.valPredictions,
      test: { imageIds: idx.test.map((i) => ds.items[i].imageId), labels: testLabels, probs: calibratedRows(rawTest[tta], temperature) },
    });
    const mel = CLASS_CODES.indexOf('mel');
    const melanomaThreshold = fit.melanoma?.threshold ?? null;
    const operatingPoint: MelanomaOperatingPoint | null = fit.melanoma === null ? null : {
      melanomaThreshold: fit.melanoma.threshold, targetValRecall: fit.melanoma.targetValRecall ?? MELANOMA_TARGET_VAL_RECALL,
      val: fit.melanoma.val,
      test: thresholdStats(testLabels.map((l) => l === mel), rawTest[tta].map((p) => applyTemperature(p, temperature)[mel]), fit.melanoma.threshold),
    };
    // A gate fitted to these weights (dermlens fit-gate) stays with them when the final evaluation is redone.
    const dermoscopyThreshold = (best.getUserDefinedMetadata() as { dermlens?: { dermoscopyThreshold?: number | null } } | undefined)?.dermlens?.dermoscopyThreshold ?? null;
    const metadata = dermlensMetadata({ arch: config.arch, inputSize: config.size, temperature, tta, melanomaThreshold, dermoscopyThreshold });
    await exportModel(best, bestDir, metadata);
    const final: FinalEvaluation = {
      temperature, tta, val: fit.val, test: variants[`test/${tta}`], variants, valEceUncalibrated: fit.valEceUncalibrated, operatingPoint,
      ...(fit.from ? { refitFrom: fit.from } : {}),
    };
    if (operatingPoint) log(`melanoma alert at P(mel) >= ${operatingPoint.melanomaThreshold.toFixed(3)}: val recall ${operatingPoint.val.recall.toFixed(3)} (precision ${operatingPoint.val.precision.toFixed(3)})`);
    if (fit.from) log(`temperature, tta and melanoma threshold carried over from ${fit.from}; the val metrics below are that run's`);
    log(`temperature ${temperature.toFixed(3)} (val ECE ${fit.valEceUncalibrated.toFixed(4)} -> ${final.val.ece.toFixed(4)}), tta ${tta}`
      + (temperature > 19.9 || temperature < 0.051 ? ' [temperature at the search bound: the model is far from calibrated]' : ''));

    if (config.quantize !== 'none') {
      const qDir = join(config.outDir, `best-${config.quantize}`);
      await exportModel(best, qDir, metadata, config.quantize);
      const q = await tf.loadLayersModel(fileLoadHandler(join(qDir, 'model.json')));
      try {
        const probs = await predictDataset(q, ds, idx.test, { temperature, tta });
        final.quantized = {
          dtype: config.quantize, dir: qDir, test: computeMetrics(testLabels, probs),
          ...(melanomaThreshold === null ? {} : { operatingPointTest: thresholdStats(testLabels.map((l) => l === mel), probs.map((p) => p[mel]), melanomaThreshold) }),
        };
        await writeJsonAtomic(join(config.outDir, quantizedPredictionsFile(config.quantize)), {
          temperature, tta, dtype: config.quantize,
          test: { imageIds: idx.test.map((i) => ds.items[i].imageId), labels: testLabels, probs: calibratedRows(probs, 1) },
        });
        log(`${config.quantize} model in ${qDir}: test balanced accuracy ${final.quantized.test.balancedAccuracy.toFixed(4)}`);
      } finally {
        q.dispose();
      }
    }
    await writeJsonAtomic(join(config.outDir, 'metrics.json'), metricsJson(final.test));
    await writeJsonAtomic(join(config.outDir, 'metrics-detail.json'), { ...final, backend: options.backend ?? tf.getBackend() });
    log(`val:  balanced accuracy ${final.val.balancedAccuracy.toFixed(4)}, macro AUC ${final.val.macroAuc?.toFixed(4) ?? 'n/a'}, macro F1 ${final.val.macroF1.toFixed(4)}`);
    log(`test: balanced accuracy ${final.test.balancedAccuracy.toFixed(4)}, macro AUC ${final.test.macroAuc?.toFixed(4) ?? 'n/a'}, macro F1 ${final.test.macroF1.toFixed(4)}, ECE ${final.test.ece.toFixed(4)}`);
    return final;
  } finally {
    best.dispose();
  }
}
