// `dermlens train`: trains a model on HAM10000 with a lesion-grouped split, checkpointing every epoch
// so a killed run resumes with nothing lost, keeps the best model by validation balanced accuracy,
// calibrates a softmax temperature on validation, and evaluates once on the test split.
//
// The loop reads in the order of timm's train.py: prepareRun (inputs, run folder, split, data, model),
// then per epoch trainOneEpoch -> validate -> saveEpoch (best model, checkpoint, history), then the final
// evaluation (evaluate/final-evaluation.ts) and the report.
//
// The step (train/step.ts) is a custom loop (variableGrads on model.apply(x, {training: true})) rather
// than model.fit, for class weights, label smoothing, per-step learning rates and dropout seeds. It trains
// exactly as fit does: tfjs-layers' BatchNormalization.call() with training=true normalises with the
// batch moments and updates its moving mean/variance itself (the same code path fit runs), and Dropout
// is active; the e2e test checks both.
import { mkdir } from 'node:fs/promises';
import { tf } from '../../core/tf.ts';
import { CLASS_CODES, NUM_CLASSES } from '../../core/labels.ts';
import { computeMetrics, type Metrics } from '../../core/metrics.ts';
import { dermlensMetadata } from '../../core/model-metadata.ts';
import { initialiseBatchNormFromData } from '../../core/mobilenet-v2.ts';
import { installFastCpuKernels } from '../backends/cpu-kernels.ts';
import { concatDatasets, loadDataset, toTensors, type Dataset } from '../data/dataset.ts';
import type { LabelledImage } from '../data/metadata.ts';
import { readRunSources, type RunSources } from '../data/run-sources.ts';
import { makeRng, mixSeed, STREAM } from '../data/rng.ts';
import { loadSplit, saveSplit, splitByLesion, splitIndices, type Split } from '../data/split.ts';
import { finalEvaluation, type FinalEvaluation } from '../evaluate/final-evaluation.ts';
import { predictDataset } from '../evaluate/predict.ts';
import { meanNll } from '../evaluate/calibrate.ts';
import { writeRunReport } from '../evaluate/run-report.ts';
import { loadBackbone } from '../model/backbone.ts';
import { exportModel } from '../model/export.ts';
import type { CheckpointProgress } from '../run/checkpoint-state.ts';
import { resumeConflict, selectionScore, splitSeedOf, validateConfig, type EpochRecord, type TrainConfig } from '../run/config.ts';
import { readTrainConfig } from '../run/files.ts';
import { exists, writeJsonAtomic } from '../run/json.ts';
import { runPaths } from '../run/layout.ts';
import { appendProvenance, currentProvenance } from '../run/provenance.ts';
import { findCheckpoint, readCheckpointState, restoreCheckpoint, saveCheckpoint } from './checkpoint.ts';
import { copyWeights } from './ema.ts';
import { balancedClassWeights } from './loss.ts';
import { epochProgress, formatDuration } from './progress.ts';
import { carriedFit, checkRefitRecipe, checkRefitSplit, loadRefitReference, type RefitReference } from './refit.ts';
import { learningRateAt, type LrScheduleOptions } from './schedule.ts';
import { drawEpoch, epochSize, expectedDraws } from './source-mix.ts';
import { createStepper, epochOrder, trainOneBatch, type Stepper } from './step.ts';

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

/** Everything an epoch needs, built once by prepareRun. */
interface Run {
  config: TrainConfig;
  ds: Dataset;
  idx: { train: number[]; val: number[]; test: number[]; external: number[] };
  /** The images trained on: train, or train + val for a refit. */
  fitIdx: number[];
  valLabels: number[];
  externalLabels: number[];
  testLabels: number[];
  stepper: Stepper;
  schedule: LrScheduleOptions;
  stepsPerEpoch: number;
  /** The validated run a refit repeats (null for an ordinary run). */
  reference: RefitReference | null;
  state: CheckpointProgress;
}

export async function train(config: TrainConfig, options: TrainOptions = {}): Promise<TrainResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  validateConfig(config);
  if (tf.getBackend() === 'cpu') installFastCpuKernels();
  const run = await prepareRun(config, options, log);
  const { stepper, state } = run;
  let epochsThisCall = 0;
  try {
    while (state.epoch < config.epochs && !state.stoppedEarly) {
      const epoch = state.epoch + 1;
      const started = Date.now();
      const tensorsBefore = tf.memory().numTensors;
      const { loss, lr } = await trainOneEpoch(run, epoch, options.progress);
      const trainSeconds = (Date.now() - started) / 1000;
      const val = await validate(run);
      const record: EpochRecord = {
        epoch,
        loss,
        valLoss: val?.loss ?? null,
        valAccuracy: val?.metrics.accuracy ?? null,
        valBalancedAccuracy: val?.metrics.balancedAccuracy ?? null,
        valMacroF1: val?.metrics.macroF1 ?? null,
        valMacroAuc: val?.metrics.macroAuc ?? null,
        ...(val?.rawBalancedAccuracy === undefined ? {} : { valBalancedAccuracyRaw: val.rawBalancedAccuracy }),
        ...(val?.external ? { extBalancedAccuracy: val.external.balancedAccuracy, extMacroAuc: val.external.macroAuc } : {}),
        lr,
        seconds: (Date.now() - started) / 1000,
      };
      const improved = await saveEpoch(run, record, val?.metrics ?? null);
      log(epochLine(run, record, trainSeconds, improved && val !== null, tf.memory().numTensors - tensorsBefore));
      if (state.stoppedEarly) log(`early stopping: no improvement in val balanced accuracy for ${config.patience} epochs`);
      epochsThisCall++;
      if (
        options.stopAfterEpochs !== undefined &&
        epochsThisCall >= options.stopAfterEpochs &&
        state.epoch < config.epochs &&
        !state.stoppedEarly
      ) {
        return {
          outDir: config.outDir,
          completed: false,
          epochsCompleted: state.epoch,
          bestEpoch: state.bestEpoch,
          bestValBalancedAccuracy: state.bestValBalancedAccuracy,
          stoppedEarly: false,
          history: state.history,
        };
      }
    }
  } finally {
    disposeStepper(stepper);
  }

  const final = await finalEvaluation(
    config,
    run.ds,
    run.idx,
    run.valLabels,
    run.testLabels,
    options,
    log,
    run.reference ? carriedFit(run.reference) : null,
  );
  log(`report: ${await writeRunReport(config.outDir, { backend: options.backend })}`);
  return {
    outDir: config.outDir,
    completed: true,
    epochsCompleted: state.epoch,
    bestEpoch: state.bestEpoch,
    bestValBalancedAccuracy: state.bestValBalancedAccuracy,
    stoppedEarly: state.stoppedEarly,
    history: state.history,
    final,
  };
}

/** One pass over the training images in this epoch's order; returns the mean batch loss and the last learning rate. */
export async function trainOneEpoch(
  run: Run,
  epoch: number,
  progressStyle: TrainOptions['progress'],
): Promise<{ loss: number; lr: number }> {
  const { config, ds, state, stepsPerEpoch } = run;
  const itemOf = (i: number) => ds.items[i];
  const drawn = drawEpoch(run.fitIdx, itemOf, config.sourceRates, makeRng(mixSeed(config.seed, STREAM.sources, epoch)));
  const order = epochOrder(
    drawn,
    (i) => ds.items[i].label,
    config.balance === 'sampling',
    makeRng(mixSeed(config.seed, STREAM.shuffle, epoch)),
  );
  const augRng = makeRng(mixSeed(config.seed, STREAM.augment, epoch));
  const progress =
    progressStyle === 'off'
      ? null
      : epochProgress(`epoch ${epoch}/${config.epochs}`, stepsPerEpoch, progressStyle ? { tty: progressStyle === 'tty' } : {});
  let lossSum = 0;
  let lr = config.lr;
  for (let b = 0; b < stepsPerEpoch; b++) {
    const { x: raw, y } = toTensors(ds, order.slice(b * config.batch, (b + 1) * config.batch));
    lr = learningRateAt(state.step, run.schedule);
    const value = await trainOneBatch(run.stepper, raw, y, { step: state.step, epoch, lr, augRng });
    if (!Number.isFinite(value)) throw new Error(`the loss became ${value} at epoch ${epoch}, batch ${b + 1}; try a lower --lr`);
    lossSum += value;
    state.step++;
    progress?.update(b + 1, lossSum / (b + 1));
  }
  progress?.stop();
  return { loss: lossSum / stepsPerEpoch, lr };
}

/**
 * Scores the model that would ship (the weight average with --ema) on validation; with --ema also the
 * trained weights themselves, for comparison. Null for a refit, which trains on the validation images.
 */
export async function validate(
  run: Run,
): Promise<{ metrics: Metrics; loss: number; rawBalancedAccuracy?: number; external?: Metrics } | null> {
  if (run.reference) return null;
  const { model, average } = run.stepper;
  const probs = await predictDataset(average ?? model, run.ds, run.idx.val);
  const rawBalancedAccuracy = average
    ? computeMetrics(run.valLabels, await predictDataset(model, run.ds, run.idx.val)).balancedAccuracy
    : undefined;
  // The external set is reported beside validation every epoch; it picks the kept epoch only with --select-on val+external.
  const external = run.idx.external.length
    ? computeMetrics(run.externalLabels, await predictDataset(average ?? model, run.ds, run.idx.external))
    : undefined;
  return {
    metrics: computeMetrics(run.valLabels, probs),
    loss: meanNll(run.valLabels, probs),
    ...(rawBalancedAccuracy === undefined ? {} : { rawBalancedAccuracy }),
    ...(external ? { external } : {}),
  };
}

/**
 * The checkpoint saver: keeps best/ when validation improved (a refit keeps every epoch: it has no
 * validation score), updates early stopping, then writes the checkpoint and history.json. Returns
 * whether this epoch became the best.
 */
export async function saveEpoch(run: Run, record: EpochRecord, val: Metrics | null): Promise<boolean> {
  const { config, state, stepper } = run;
  const paths = runPaths(config.outDir);
  // With --select-on val+external the stored "best" is the mean of the two validation scores.
  const score = val === null ? -1 : selectionScore(config.selectOn, val.balancedAccuracy, record.extBalancedAccuracy);
  const improved = val === null || score > state.bestValBalancedAccuracy;
  if (improved) {
    await exportModel(stepper.average ?? stepper.model, paths.best, dermlensMetadata({ arch: config.arch, inputSize: config.size }));
    state.bestValBalancedAccuracy = score;
    state.bestEpoch = record.epoch;
    state.epochsWithoutImprovement = 0;
  } else {
    state.epochsWithoutImprovement++;
  }
  state.history.push(record);
  state.epoch = record.epoch;
  if (config.patience > 0 && state.epochsWithoutImprovement >= config.patience && record.epoch < config.epochs) state.stoppedEarly = true;
  await saveCheckpoint(
    config.outDir,
    stepper.model,
    stepper.groups.head.optimizer,
    state,
    stepper.average,
    stepper.groups.backbone?.optimizer,
  );
  await writeJsonAtomic(paths.history, state.history);
  return improved;
}

function epochLine(run: Run, record: EpochRecord, trainSeconds: number, best: boolean, tensorDelta: number): string {
  const valPart =
    record.valBalancedAccuracy === null
      ? 'val: trained on (refit)'
      : `val_loss ${record.valLoss?.toFixed(4)}  val_bal_acc ${record.valBalancedAccuracy.toFixed(4)}` +
        `${record.valBalancedAccuracyRaw === undefined ? '' : ` (raw weights ${record.valBalancedAccuracyRaw.toFixed(4)})`}  val_auc ${record.valMacroAuc === null ? 'n/a' : record.valMacroAuc.toFixed(4)}` +
        (record.extBalancedAccuracy === undefined
          ? ''
          : `  ext_bal_acc ${record.extBalancedAccuracy.toFixed(4)}  ext_auc ${record.extMacroAuc?.toFixed(4) ?? 'n/a'}`);
  return (
    `epoch ${record.epoch}/${run.config.epochs}  loss ${record.loss.toFixed(4)}  ${valPart}  ` +
    `lr ${record.lr.toExponential(2)}  ${formatDuration(record.seconds)} (train ${formatDuration(trainSeconds)})${best ? '  * best' : ''}` +
    `  tensors ${tensorDelta >= 0 ? '+' : ''}${tensorDelta}`
  );
}

function disposeStepper(stepper: Stepper): void {
  stepper.model.dispose();
  stepper.average?.dispose();
  stepper.groups.head.optimizer.dispose();
  stepper.groups.backbone?.optimizer.dispose();
}

/**
 * Everything before the first epoch, inputs first so that bad data fails before anything is written:
 * the metadata, the refit reference, the backbone; then the run folder, the split, the images, the model
 * with its optimizers, and (on --resume) the checkpoint's weights and progress.
 */
async function prepareRun(config: TrainConfig, options: TrainOptions, log: (line: string) => void): Promise<Run> {
  const resume = options.resume ?? false;
  const sources = await readRunSources(config, log);
  // Known only once the folders are read (a phone-photo folder alone has no external collection): refuse now,
  // not at the end of the first epoch.
  if (config.selectOn === 'val+external' && !sources.external.length)
    throw new Error(
      `--select-on val+external needs an external set, and ${config.extraData?.join(', ')} has none of its collections held out: give --external <collections>`,
    );
  const reference = config.refitFrom ? await loadRefitReference(config.refitFrom) : null;
  if (reference) checkRefitRecipe(reference, config);
  // The backbone is read before anything is written, and its sha256 joins the recipe: a resumed run or
  // a refit that would start from another file is refused.
  const backbone = config.backbone ? await loadBackbone(config.backbone) : null;
  if (backbone) {
    if (config.backboneSha256 && config.backboneSha256 !== backbone.info.sha256) {
      backbone.model.dispose();
      throw new Error(
        `${config.backbone} is not the backbone this run started from (sha256 ${backbone.info.sha256}, config.json has ${config.backboneSha256})`,
      );
    }
    config.backboneSha256 = backbone.info.sha256;
  }
  const { checkpointDir } = await prepareRunDir(config, resume);
  const split = await makeOrLoadSplit(config, sources, resume, log);
  if (reference) checkRefitSplit(reference, split);

  const ds = await loadImages(config, sources, options, log);
  const idx = splitIndices(ds.items, split);
  for (const side of ['train', 'val', 'test'] as const) {
    if (idx[side].length === 0)
      throw new Error(`the ${side} split has no loadable images (${split[side].length} listed, all missing or unreadable)`);
  }
  log(
    `split: train ${idx.train.length}, val ${idx.val.length}, test ${idx.test.length} images (whole lesions per side)` +
      (split.external ? `; external validation ${idx.external.length} (never trained on)` : ''),
  );
  await sources.writeManifest(config.outDir, split, ds);
  // A refit trains on train + val; test stays unseen either way.
  const fitIdx = reference ? [...idx.train, ...idx.val] : idx.train;
  if (reference) log(`refit of ${reference.dir}: training on train + val (${fitIdx.length} images), keeping the last epoch`);
  log(`  training classes: ${classCounts(ds, fitIdx)}`);
  const labelOf = (i: number) => ds.items[i].label;
  const itemOf = (i: number) => ds.items[i];
  const classWeights =
    config.balance === 'weights'
      ? balancedClassWeights(
          fitIdx.map(labelOf),
          NUM_CLASSES,
          config.sourceRates ? expectedDraws(fitIdx, itemOf, config.sourceRates) : undefined,
        )
      : null;
  if (classWeights) log(`class weights: ${CLASS_CODES.map((c, k) => `${c} ${classWeights[k].toFixed(2)}`).join(', ')}`);

  let stepper: Stepper;
  try {
    stepper = createStepper(config, backbone, classWeights, log);
  } finally {
    backbone?.model.dispose();
  }
  // Re-added BatchNorm starts as the identity on the data: statistics from the first 64 training images
  // (a resumed run restores its trained values instead).
  if (config.backboneNorm === 'batchnorm' && !resume) {
    const { x, y } = toTensors(ds, fitIdx.slice(0, 64));
    log(`re-added BatchNorm: ${initialiseBatchNormFromData(stepper.model, x)} layers initialised from ${x.shape[0]} training images`);
    tf.dispose([x, y]);
    if (stepper.average) copyWeights(stepper.average, stepper.model);
  }
  const perEpoch = epochSize(fitIdx, itemOf, config.sourceRates);
  if (perEpoch !== fitIdx.length) log(`source mix: ${perEpoch} images drawn per epoch from ${fitIdx.length}`);
  const stepsPerEpoch = Math.ceil(perEpoch / config.batch);
  const schedule: LrScheduleOptions = {
    lr: config.lr,
    schedule: config.lrSchedule,
    warmupSteps: config.warmupEpochs * stepsPerEpoch,
    totalSteps: config.epochs * stepsPerEpoch,
  };

  let state: CheckpointProgress = {
    epoch: 0,
    step: 0,
    config,
    history: [],
    bestValBalancedAccuracy: -1,
    bestEpoch: 0,
    epochsWithoutImprovement: 0,
    stoppedEarly: false,
  };
  if (resume && checkpointDir) {
    const saved = await readCheckpointState(checkpointDir);
    await restoreCheckpoint(
      checkpointDir,
      stepper.model,
      stepper.groups.head.optimizer,
      stepper.average,
      stepper.groups.backbone?.optimizer,
    );
    // Patience may change on resume, so whether the run has stopped early is re-decided with the new value.
    const stoppedEarly = config.patience > 0 && saved.epochsWithoutImprovement >= config.patience && saved.epoch < config.epochs;
    state = { ...saved, config, stoppedEarly };
    log(
      `resumed from ${checkpointDir} after epoch ${state.epoch}${reference ? '' : ` (best ${config.selectOn === 'val+external' ? 'mean of val and external' : 'val'} balanced accuracy ${state.bestValBalancedAccuracy.toFixed(4)} at epoch ${state.bestEpoch})`}`,
    );
  } else if (resume) {
    log(`no checkpoint in ${config.outDir} yet: starting from epoch 1`);
  }
  log(
    `model ${config.arch} at ${config.size} px: ${stepper.model.countParams().toLocaleString('en-US')} parameters; ${stepsPerEpoch} batches of ${config.batch} per epoch`,
  );
  return {
    config,
    ds,
    idx,
    fitIdx,
    valLabels: idx.val.map(labelOf),
    testLabels: idx.test.map(labelOf),
    externalLabels: idx.external.map(labelOf),
    stepper,
    schedule,
    stepsPerEpoch,
    reference,
    state,
  };
}

async function loadImages(config: TrainConfig, sources: RunSources, options: TrainOptions, log: (line: string) => void): Promise<Dataset> {
  const loadStart = Date.now();
  const parts: Dataset[] = [];
  // One load (and one cache file) per folder, so adding a folder leaves the others' caches valid.
  for (const { dir, items } of sources.perFolder) {
    log(`loading ${items.length} images from ${dir} at ${config.size} px${options.cacheDir ? ` (cache: ${options.cacheDir})` : ''}`);
    let lastReport = 0;
    parts.push(
      await loadDataset({
        images: items,
        imageDir: dir,
        size: config.size,
        cacheDir: options.cacheDir,
        onProgress: (done, total) => {
          if (options.progress !== 'off' && (Date.now() - lastReport > 10_000 || done === total) && done > 0) {
            lastReport = Date.now();
            log(`  decoded ${done}/${total}`);
          }
        },
      }),
    );
  }
  const ds = concatDatasets(parts);
  log(
    `loaded ${ds.items.length} images in ${formatDuration((Date.now() - loadStart) / 1000)}${ds.cache.status !== 'off' ? ` (cache ${ds.cache.status})` : ''}`,
  );
  if (ds.skipped.length) {
    log(`skipped ${ds.skipped.length} image(s):`);
    for (const s of ds.skipped.slice(0, 10)) log(`  ${s.imageId}: ${s.reason}`);
    if (ds.skipped.length > 10) log(`  ... and ${ds.skipped.length - 10} more`);
  }
  return ds;
}

async function prepareRunDir(config: TrainConfig, resume: boolean): Promise<{ checkpointDir: string | null }> {
  const configPath = runPaths(config.outDir).config;
  if (resume) {
    if (!(await exists(configPath))) throw new Error(`nothing to resume: ${configPath} does not exist`);
    const saved = await readTrainConfig(config.outDir);
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

async function makeOrLoadSplit(config: TrainConfig, sources: RunSources, resume: boolean, log: (line: string) => void): Promise<Split> {
  const path = runPaths(config.outDir).split;
  const seed = splitSeedOf(config);
  const items: LabelledImage[] = sources.items;
  const metadataPath = sources.primary.labelFile;
  if (resume && (await exists(path))) {
    const saved = await loadSplit(path);
    if (saved.seed !== seed || saved.valFraction !== config.valFraction || saved.testFraction !== config.testFraction) {
      throw new Error(
        `${path} was made with seed ${saved.seed}, fractions ${saved.valFraction}/${saved.testFraction}, which does not match the run config`,
      );
    }
    return saved;
  }
  // The primary folder is split exactly as a run without extra folders splits it; the extra folders add
  // training images and the external set (trainer/data/sources.ts).
  const split: Split = splitByLesion(sources.primary.items, { seed, valFraction: config.valFraction, testFraction: config.testFraction });
  const extra = await sources.extraSides(log);
  if (extra) {
    split.train.push(...extra.train);
    split.external = extra.external;
    split.excluded = extra.excluded;
  }
  await saveSplit(path, split, { seed, valFraction: config.valFraction, testFraction: config.testFraction, items, source: metadataPath });
  return split;
}

function classCounts(ds: Dataset, indices: readonly number[]): string {
  const counts = new Array<number>(NUM_CLASSES).fill(0);
  for (const i of indices) counts[ds.items[i].label]++;
  return CLASS_CODES.map((c, k) => `${c} ${counts[k]}`).join(', ');
}
