// `dermlens ship`: ships a finished training run: copies its best/ model into extension/model/ and writes
// model-card.json (machine-readable) and MODEL_CARD.md (for people) from the run's own files
// (config.json, split.json, history.json, metrics-detail.json, predictions.json), with the seed
// baseline run beside it. Every number in the card comes from those files; nothing is typed in.
//
//   npx dermlens ship --run runs/release --baseline runs/seed-baseline [--candidate runs/other ...] [--out extension/model]
//
// --candidate names other finished runs on the same split that were considered for shipping. The card
// lists them by their validation numbers, and the script refuses to ship a run that is not the best of
// them on validation balanced accuracy: the choice between runs is made on validation, never on test.
//
// An ensemble run (dermlens ensemble) ships like any run: its members' configs and histories are read
// from the member folders it names, and the card describes the members' shared recipe and seeds.
//
// A refit (dermlens train --refit-from <run>) ships with its reference run's validation numbers, which
// the card labels as the reference's: the refit trained on the validation images.
//
// --latency names `npm run bench:infer -- --model <run>/best --model extension/model --backends wasm --repeat 5 --json`
// output: this run's model and the model shipped before it, measured in one run; the card reports the
// classify-time target as the ratio of their medians (machines differ too much for absolute targets).
//
// --weights float16 ships the run's best-float16/ copy (train --quantize float16) and takes every test
// number from that copy's own evaluation (metrics-detail.json "quantized", predictions-float16.json).
//
// The model shipped before (read from --out's model-card.json before it is replaced, or --previous) gets
// a row of its own on the same test split, and, without --baseline, its card's seed-baseline row is kept.
import { copyFile, mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { GateReport, LegacyGateReport } from '../train/fit-gate.ts';
import {
  clinicalPhotoFigures,
  clinicalTrainingOf,
  gateLimitation,
  gateTargets,
  outOfScopeSection,
  phoneAndClinicalSection,
} from './gate-card.ts';
import type { FieldOfViewReport } from '../train/field-of-view-check.ts';
import { CLASSES, CLASS_CODES } from '../../core/labels.ts';
import { PREPROCESS_VERSION } from '../../core/preprocess.ts';
import { argmax, thresholdStats, type Metrics } from '../../core/metrics.ts';
import { parseModelCard } from '../../core/model-card.ts';
import { readProvenance } from '../run/provenance.ts';
import { KNOWN_BACKBONES } from '../model/backbone.ts';
import { balancedAccuracyOf, bootstrapInterval, type Interval } from '../evaluate/bootstrap.ts';
import { metricsJson } from '../evaluate/evaluate-model.ts';
import { readLesionIds } from '../data/lesion-ids.ts';
import { loadSplit, sameSides } from '../data/split.ts';
import { median } from '../evaluate/median.ts';

import type { TrainConfig } from '../run/config.ts';
import { trainCommandLine } from '../run/train-flags.ts';
import { exists, readJsonFile, readJsonIfExists } from '../run/json.ts';
import { readHistory, readMetricsDetail, readPredictions, readTrainConfig } from '../run/files.ts';
import { runPaths } from '../run/layout.ts';
import type { FinalEvaluation } from '../evaluate/final-evaluation.ts';
import { externalMarkdown, readExternalCard, type ExternalCardJson } from './card-external.ts';

/** Reads a run file, naming it when that fails. */

/** A run's config.json: a training run's (validated), or an ensemble's, which names its members. */
type RunConfig = TrainConfig & { kind?: string; members?: string[] };
async function readRunConfig(dir: string): Promise<RunConfig> {
  const raw = await readJsonFile<{ kind?: string }>(runPaths(dir).config, 'ship');
  return raw.kind === 'ensemble' ? (raw as RunConfig) : await readTrainConfig(dir, 'ship');
}
/** metrics-detail.json, which every finished run has. */
async function readFinalEvaluation(dir: string): Promise<FinalEvaluation & { backend?: string }> {
  const detail = await readMetricsDetail<FinalEvaluation & { backend?: string }>(dir, 'ship');
  if (!detail) throw new Error(`${runPaths(dir).metricsDetail} is missing: ${dir} has not finished training (or its final evaluation)`);
  return detail;
}
interface ModelJson {
  weightsManifest: Array<{ paths: string[]; weights: Array<{ shape: number[] }> }>;
  userDefinedMetadata?: { dermlens?: { dermoscopyThreshold?: number | null; clinicalThreshold?: number | null } };
}

/** Keys in which the members of a shipped ensemble may differ: the card describes one shared recipe. */
const PER_MEMBER_KEYS = new Set(['seed', 'splitSeed', 'outDir', 'tta', 'quantize', 'patience']);

/**
 * A run's training side: for a training run its config and history; for an ensemble run each member's,
 * with the recipe they share (refused when they differ in anything but the seeds, which the card could
 * not describe as one recipe).
 */
async function readTraining(dir: string, config: RunConfig | Record<string, unknown>) {
  const members = Array.isArray(config.members) ? (config.members as string[]) : null;
  const configs: Array<Record<string, unknown>> = members
    ? await Promise.all(members.map(async (m) => (await readRunConfig(m)) as unknown as Record<string, unknown>))
    : [config as Record<string, unknown>];
  const histories = await Promise.all(
    (members ?? [dir]).map(async (m) => {
      const h = await readHistory(m);
      if (!h) throw new Error(`${runPaths(m).history} is missing: the card needs the run's epochs`);
      return epochsOf(h);
    }),
  );
  for (const [i, c] of configs.entries()) {
    const differs = Object.keys({ ...c, ...configs[0] }).filter(
      (k) => !PER_MEMBER_KEYS.has(k) && JSON.stringify(c[k]) !== JSON.stringify(configs[0][k]),
    );
    if (differs.length)
      throw new Error(
        `ensemble ${dir}: member ${members![i]} differs from ${members![0]} in ${differs.join(', ')}; the card describes one shared recipe`,
      );
  }
  // A refit keeps its last epoch: it has no validation score per epoch to pick one by.
  const bestEpochs = config.refitFrom ? [histories[0].length] : histories.map(bestEpochOf);
  return { members, configs, histories, recipe: configs[0], bestEpochs };
}

/** history.json as a list of epochs (a plain list, or one wrapped as { epochs }). */
function epochsOf(h: unknown): Array<{ epoch: number; valBalancedAccuracy: number }> {
  // (A refit's epochs have valBalancedAccuracy null; its best epoch is not looked up this way.)
  return Array.isArray(h) ? h : ((h as { epochs?: [] }).epochs ?? []);
}
const bestEpochOf = (h: Array<{ epoch: number; valBalancedAccuracy: number }>) =>
  h.reduce((best, e) => (e.valBalancedAccuracy > best.valBalancedAccuracy ? e : best)).epoch;

/** One row of the candidates table: a finished run, by its validation numbers only. */
function candidateRow(dir: string, t: Awaited<ReturnType<typeof readTraining>>, d: { tta: string; val: Metrics }) {
  const v = d.val;
  const c = t.recipe;
  return {
    run: basename(dir),
    arch: t.members ? `${t.members.length} x ${c.arch as string}` : (c.arch as string),
    inputSize: c.size as number,
    epochs: c.epochs as number,
    balance: c.balance as string,
    augment: `${c.augment as string}${c.fieldOfView ? ` + field of view ${c.fieldOfView as number}` : ''}`,
    ema: (c.ema as number | undefined) ?? 0,
    // An ensemble has no epoch of its own: its members' best epochs instead.
    ...(t.members ? { bestEpoch: null, memberBestEpochs: t.bestEpochs } : { bestEpoch: t.bestEpochs[0] }),
    // A refit's validation numbers are its reference run's (it trained on the validation images).
    ...(c.refitFrom ? { refitOf: basename(c.refitFrom as string) } : {}),
    tta: d.tta,
    valBalancedAccuracy: v.balancedAccuracy,
    valMacroAuc: v.macroAuc,
    valEce: v.ece,
    valMelanomaRecall: v.perClass.mel.recall,
  };
}

/**
 * Median over bench:infer's wasm rows for this run's model (each row is itself the median of its timed
 * calls) and, when the same run measured one other model (the one shipped before), its median and the ratio.
 */
async function wasmLatency(file: string, modelDir: string) {
  const rows = await readJsonFile<Array<{ backend: string; model: string; medianMs: number }>>(file, 'ship --latency');
  const wasm = rows.filter((r) => r.backend.startsWith('wasm'));
  const shipped = resolve(modelDir, 'model.json');
  const mine = wasm.filter((r) => resolve(r.model) === shipped);
  if (mine.length === 0)
    throw new Error(`${file} has no wasm rows for ${shipped} (run bench:infer --model ${modelDir} --backends wasm --json)`);
  const others = [...new Set(wasm.filter((r) => resolve(r.model) !== shipped).map((r) => r.model))];
  if (others.length > 1)
    throw new Error(`${file} measured ${others.length} other models; give it the shipped model and the one shipped before only`);
  const stats = (rs: typeof wasm) => {
    const m = rs.map((r) => r.medianMs).sort((a, b) => a - b);
    return { medianMs: median(m), runMediansMs: m };
  };
  const reference = others.length ? { model: others[0], ...stats(wasm.filter((r) => r.model === others[0])) } : null;
  const own = stats(mine);
  return {
    ...own,
    reference,
    ratioToReference: reference ? own.medianMs / reference.medianMs : null,
    source: 'npm run bench:infer (Node, wasm backend, SIMD, 1 thread), models alternating in one run',
  };
}

/** Copies the model's files into outDir, replacing what was there (shards from an older model must not linger). */
async function installModel(modelDir: string, outDir: string): Promise<void> {
  await mkdir(outDir, { recursive: true });
  for (const f of await readdir(outDir)) if (f === 'model.json' || f.endsWith('.bin')) await rm(join(outDir, f));
  for (const f of await readdir(modelDir)) await copyFile(join(modelDir, f), join(outDir, f));
}

export interface ShipOptions {
  /** The finished run (training run, refit or ensemble) whose model ships. */
  run: string;
  /** The seed-baseline run for the card's baseline row (default: the previous card's row). */
  baseline?: string;
  /** Other finished runs on the same split that were considered; the shipped run must lead them on validation. */
  candidates?: string[];
  /** bench:infer --json output measuring this run's model and the previously shipped one in one run. */
  latency?: string;
  /** Where the model ships (default extension/model). */
  out?: string;
  /** The previous model's model-card.json (default: <out>/model-card.json before it is replaced). */
  previous?: string;
  weights?: 'float32' | 'float16';
  /**
   * Ship the run although a --candidate leads it on validation balanced accuracy, for this reason. The
   * deviation and its reason are printed in the card beside the candidates: the rule is still the default.
   */
  despite?: string;
}

/** Ships options.run into options.out: the model files, model-card.json and MODEL_CARD.md. Refuses (throws) a run that is not the best candidate on validation, a different split, a missing file. */
export async function ship(
  options: ShipOptions,
  log: (line: string) => void = console.log,
): Promise<{ outDir: string; modelDir: string; targets: Array<[string, boolean, string]> }> {
  const weights = options.weights ?? 'float32';
  if (!['float32', 'float16'].includes(weights)) throw new Error(`--weights ${weights}: choose float32 or float16`);
  const runDir = resolve(options.run);
  const outDir = resolve(options.out ?? 'extension/model');
  /** The folder whose model ships: best/ or the quantized copy the trainer exported and evaluated. */
  const modelDir = weights === 'float32' ? runPaths(runDir).best : runPaths(runDir).quantized(weights);

  const config = await readRunConfig(runDir);
  const split = await loadSplit(runPaths(runDir).split);
  const clinicalTraining = await clinicalTrainingOf(config, split);
  const detail = await readFinalEvaluation(runDir);
  const modelJson = await readJsonFile<ModelJson>(join(modelDir, 'model.json'), 'ship');
  const previousPath = resolve(options.previous ?? join(outDir, 'model-card.json'));
  const previousCard = await readFile(previousPath, 'utf8').then(
    (t) => JSON.parse(t),
    () => null,
  );
  // Same image ids on every side, not just the same counts: rows of one table must share one test split.
  const sameSplit = (other: typeof split) => sameSides(other, split);

  /** The seed baseline's row: from its run folder (--baseline), else as the previous model card recorded it. */
  interface BaselineRow {
    arch: string;
    inputSize: number;
    epochsTrained: number;
    bestEpoch: number;
    metrics: { val: Metrics; test: Metrics };
    temperature: number;
    tta: string;
  }
  async function readBaseline(): Promise<BaselineRow> {
    if (options.baseline) {
      const dir = resolve(options.baseline);
      const [c, d, s, h] = await Promise.all([
        readRunConfig(dir),
        readFinalEvaluation(dir),
        loadSplit(runPaths(dir).split),
        readHistory(dir),
      ]);
      if (!h) throw new Error(`${runPaths(dir).history} is missing: the baseline row needs its epochs`);
      if (!sameSplit(s)) throw new Error('the baseline run used a different split; compare models on the same split only');
      return {
        arch: c.arch,
        inputSize: c.size,
        epochsTrained: epochsOf(h).length,
        bestEpoch: bestEpochOf(epochsOf(h)),
        metrics: { val: metricsJson(d.val), test: metricsJson(d.test) },
        temperature: d.temperature,
        tta: d.tta,
      };
    }
    if (!previousCard?.baseline)
      throw new Error(
        `no --baseline run and no baseline row in ${previousPath}: give --baseline runs/seed-baseline (npm run train:baseline)`,
      );
    return previousCard.baseline as BaselineRow;
  }

  /** Test split sizes per class of a split.json, to check a card made elsewhere used the same test images. */
  const testCounts = (counts: Record<string, Record<string, number>>) => JSON.stringify(counts.test);
  /**
   * The model shipped before this one, as its card describes it, for a row beside the new model on the
   * same test split. Shipping the same run again keeps the row of the model before it.
   */
  function readPrevious() {
    if (!previousCard) return null;
    if (previousCard.sourceRun === basename(runDir)) return previousCard.previousModel ?? null;
    if (testCounts(previousCard.split.perClass) !== testCounts(split.counts) || previousCard.split.seed !== split.seed) {
      throw new Error(`${previousPath} describes a model tested on another split; ship with --previous pointing at a card on this split`);
    }
    return {
      name: previousCard.name as string,
      version: previousCard.version as string,
      arch: previousCard.arch as string,
      inputSize: previousCard.inputSize as number,
      weightBytes: previousCard.weightBytes as number,
      test: metricsJson(previousCard.evaluation as Metrics),
      melanomaAlertTest: previousCard.melanomaOperatingPoint?.test ?? null,
      ...(previousCard.externalValidation ? { externalValidation: previousCard.externalValidation as ExternalCardJson } : {}),
    };
  }
  const baseline = await readBaseline();
  const previousModel = readPrevious();
  /**
   * The replaced model for the external table: its recorded external rows, or its model.json to score (a
   * re-ship of this same run takes the rows the first ship recorded: extension/model/ then holds this run).
   */
  async function replacedModelForExternal() {
    if (!previousCard || !previousModel) return null;
    if (previousCard.sourceRun === basename(runDir)) {
      const recorded = previousCard.previousExternalValidation as (ExternalCardJson & { name: string }) | undefined;
      return recorded ? { name: recorded.name, external: recorded, modelJson: '' } : null;
    }
    const modelJson = join(dirname(previousPath), 'model.json');
    if (!previousCard.externalValidation && !(await exists(modelJson))) return null;
    return { name: previousCard.name as string, external: previousCard.externalValidation as ExternalCardJson | undefined, modelJson };
  }
  // Runs trained with --extra-data: the external validation set, beside the replaced model's on the same images.
  const externalCard = await readExternalCard(
    runDir,
    config as TrainConfig,
    detail.external,
    split.external,
    await replacedModelForExternal(),
    log,
  );

  async function readCandidate(dir: string) {
    const [c, s, d] = await Promise.all([readRunConfig(dir), loadSplit(runPaths(dir).split), readFinalEvaluation(dir)]);
    if (!sameSplit(s)) throw new Error(`candidate ${dir} used a different split; candidates must share the shipped run's split`);
    return candidateRow(dir, await readTraining(dir, c), d);
  }
  const training = await readTraining(runDir, config);
  /** The validated run a refit repeats (its recipe, settings and validation numbers), or null. */
  const refitOf: string | null = config.refitFrom ?? null;
  const refitName = refitOf ? basename(refitOf) : null;
  const referenceConfig = refitOf ? await readTrainConfig(refitOf, "ship: the refit's reference run") : null;
  const recipe = training.recipe;
  /** The pretrained backbone a transfer-learning run started from, by the sha256 its config recorded. */
  const backbone = recipe.backboneSha256
    ? {
        sha256: recipe.backboneSha256 as string,
        knownAs: KNOWN_BACKBONES[recipe.backboneSha256 as string]?.name ?? null,
        description: KNOWN_BACKBONES[recipe.backboneSha256 as string]?.description ?? null,
        licence: KNOWN_BACKBONES[recipe.backboneSha256 as string]?.licence ?? null,
      }
    : null;
  const seeds = training.configs.map((c) => c.seed as number);
  // The shipped run's files are read above already; only the other candidates are read here.
  const candidates = [
    candidateRow(runDir, training, detail),
    ...(await Promise.all((options.candidates ?? []).map((d) => readCandidate(resolve(d))))),
  ];
  const bestCandidate = candidates.reduce((a, b) => (b.valBalancedAccuracy > a.valBalancedAccuracy ? b : a));
  const despite = options.despite?.trim() || null;
  if (bestCandidate !== candidates[0] && !despite) {
    throw new Error(
      `${bestCandidate.run} has the higher validation balanced accuracy (${bestCandidate.valBalancedAccuracy.toFixed(4)} vs ${candidates[0].valBalancedAccuracy.toFixed(4)}): ship that one, runs are chosen on validation (or give the reason to ship this one anyway with --despite "<reason>", which the card prints)`,
    );
  }
  if (despite && bestCandidate === candidates[0])
    throw new Error('--despite is for shipping a run that a --candidate leads on validation; this one leads');

  const epochs = training.histories[0];
  const sideTotal = (side: 'train' | 'val' | 'test') => Object.values(split.counts[side]).reduce((a, b) => a + b, 0);
  const splitSizes = { train: sideTotal('train'), val: sideTotal('val'), test: sideTotal('test') };
  // The trainer's commit(s) as recorded by the run itself and, for an ensemble, by its members (trainer/run/provenance.ts).
  const provenance = (await Promise.all([runDir, ...(training.members ?? []), ...(refitOf ? [refitOf] : [])].map(readProvenance))).flat();
  const commits = [...new Set(provenance.map((p) => `${p.commit ?? 'unknown'}${p.dirty ? ' (with uncommitted changes)' : ''}`))];
  const commit = commits.length ? commits.join(', ') : 'not recorded';
  const parameters = (modelJson.weightsManifest as Array<{ weights: Array<{ shape: number[] }> }>)
    .flatMap((g) => g.weights)
    .reduce((a, w) => a + w.shape.reduce((x, y) => x * y, 1), 0);
  /** What the extension downloads: the shipped shards' bytes. */
  const weightBytes = (
    await Promise.all((await readdir(modelDir)).filter((f) => f.endsWith('.bin')).map((f) => stat(join(modelDir, f)).then((st) => st.size)))
  ).reduce((a, b) => a + b, 0);
  // The quantized copy ships with its own test numbers: its metrics, its alert's test recall and its predictions.
  if (weights !== 'float32' && detail.quantized?.dtype !== weights) {
    throw new Error(
      `${runDir} has no evaluated ${weights} copy (metrics-detail.json "quantized"); train with --quantize ${weights}, or resume the finished run to redo its final evaluation`,
    );
  }
  const quantized =
    weights === 'float32'
      ? null
      : (detail.quantized as { test: Metrics; operatingPointTest?: { recall: number; precision: number; flagged: number } });
  const test: Metrics = quantized?.test ?? detail.test;
  type AlertStats = { recall: number; precision: number; flagged: number };
  const runOp: null | { melanomaThreshold: number; targetValRecall: number; val: AlertStats; test: AlertStats } =
    detail.operatingPoint ?? null;
  const op = runOp && quantized ? { ...runOp, test: quantized.operatingPointTest! } : runOp;
  const val: Metrics = detail.val;

  // 95% bootstrap intervals on test, from the shipped weights' own calibrated test predictions.
  const predictionsPath = quantized ? runPaths(runDir).quantizedPredictions(weights) : runPaths(runDir).predictions;
  const predictions = await readPredictions(predictionsPath, 'ship');
  if (!predictions) throw new Error(`${predictionsPath} is missing: the card's intervals need the shipped weights' test predictions`);
  const testLabels = predictions.test.labels;
  const predicted = predictions.test.probs.map((p) => argmax(p));
  const everyRow = Uint32Array.from(testLabels, (_, i) => i);
  // The file's probabilities are rounded to 6 significant digits, which can turn a near-tie into another
  // arg-max: one image of a small class moves balanced accuracy by under 0.002 (r5-mix05's float16 file:
  // 0.7010 against 0.7018). Another run's file would differ by far more.
  if (Math.abs(balancedAccuracyOf(testLabels, predicted, CLASS_CODES.length, everyRow) - test.balancedAccuracy) > 0.002) {
    throw new Error(`the ${weights} test predictions do not reproduce the test balanced accuracy of metrics-detail.json`);
  }
  const melIndex = CLASS_CODES.indexOf('mel');
  const isMel = testLabels.map((l) => l === melIndex);
  const melScores = predictions.test.probs.map((p) => p[melIndex]);
  /** Test recall of the alert rule on the drawn rows (undefined, so skipped, when they hold no melanoma). */
  const alertRecallOn = (threshold: number) => (idx: Uint32Array) => {
    const positives = Array.from(idx, (i) => isMel[i]);
    return positives.includes(true)
      ? thresholdStats(
          positives,
          Array.from(idx, (i) => melScores[i]),
          threshold,
        ).recall
      : NaN;
  };
  // Lesion ids from the metadata file the split was made from, so the bootstrap draws whole lesions. If
  // that file is not on this machine, images are drawn one by one and the card says so.
  const predictedIds: string[] = (predictions.test as { imageIds?: string[] }).imageIds ?? [];
  const lesions = predictedIds.length === testLabels.length ? await readLesionIds(split.source, predictedIds) : undefined;
  // On a tiny test split every resample may miss a class: then there is no interval, and the card says nothing.
  const intervalOrNull = (make: () => Interval): Interval | null => {
    try {
      return make();
    } catch {
      return null;
    }
  };
  const intervals = {
    method: lesions
      ? `percentile bootstrap over the ${new Set(lesions).size} test lesions (all images of a drawn lesion together), 1000 resamples, seed 1`
      : 'percentile bootstrap over test images (lesion ids not available here; images of one lesion are correlated, so the true interval is somewhat wider), 1000 resamples, seed 1',
    balancedAccuracy: intervalOrNull(() =>
      bootstrapInterval(testLabels.length, (idx) => balancedAccuracyOf(testLabels, predicted, CLASS_CODES.length, idx), {
        groups: lesions,
      }),
    ),
    melanomaRecallAtOperatingPoint: op
      ? intervalOrNull(() => bootstrapInterval(testLabels.length, alertRecallOn(op.melanomaThreshold), { groups: lesions }))
      : null,
  };
  const created = new Date().toISOString().slice(0, 10);
  const ensembleSize = training.members?.length ?? 0;
  // Shown with every result, so it names the run: two models shipped on one day must not read the same.
  const version = `${ensembleSize ? `${ensembleSize}x` : ''}${config.arch}-${config.size} ${basename(runDir)} ${created}`;
  /** The dermlens train command line of one (member) run's config (generated from the flag table). */
  const trainCommandOf = (c: Partial<TrainConfig> | Record<string, unknown>, out: string) =>
    trainCommandLine(c as Partial<TrainConfig>, out, {
      backbone: `${backbone?.knownAs ?? 'backbone'} or its dermlens import-backbone folder`,
    });
  const memberOut = (i: number) => `runs/release-m${i + 1}`;
  const trainCommand = ensembleSize
    ? [
        ...training.configs.map((c, i) => trainCommandOf(c, memberOut(i))),
        `npx dermlens ensemble ${training.configs.map((_, i) => `--member ${memberOut(i)}`).join(' ')} --out runs/release${config.tta ? ' --tta' : ''}`,
      ].join(' && ')
    : referenceConfig
      ? `${trainCommandOf(referenceConfig, 'runs/release-validated')} && npx dermlens train --refit-from runs/release-validated --out runs/release`
      : trainCommandOf(config, 'runs/release');

  const latency = options.latency ? await wasmLatency(options.latency, modelDir) : null;

  /** The gate's gate.json (dermlens fit-gate), when the shipped model has one: three-way (v2) or the older two-way (v1). */
  const gate: GateReport | LegacyGateReport | null = (await readJsonIfExists(runPaths(runDir).gate, 'ship')) ?? null;
  /** scripts/check-field-of-view.ts on the test side, when it was run for the shipped weights. */
  const fieldOfView: FieldOfViewReport | null = (await readJsonIfExists(runPaths(runDir).fieldOfView('test'), 'ship')) ?? null;
  if (fieldOfView && resolve(fieldOfView.model) !== resolve(modelDir)) {
    throw new Error(
      `${runPaths(runDir).fieldOfView('test')} scored ${fieldOfView.model}, not the shipped ${modelDir}: run scripts/check-field-of-view.ts --model ${modelDir} --run ${runDir} --side test again`,
    );
  }
  const shippedThreshold = (modelJson.userDefinedMetadata?.dermlens?.dermoscopyThreshold ?? null) as number | null;
  const shippedClinical = (modelJson.userDefinedMetadata?.dermlens?.clinicalThreshold ?? null) as number | null;
  const gateClinical = gate?.format === 'dermlens-gate-v2' ? gate.clinicalThreshold : null;
  if (
    (gate === null) !== (shippedThreshold === null) ||
    (gate && gate.threshold !== shippedThreshold) ||
    shippedClinical !== gateClinical
  ) {
    throw new Error(
      `${modelDir}/model.json and ${runDir}/gate.json disagree about the dermoscopy gate; run dermlens fit-gate --run ${runDir} again`,
    );
  }

  const card = {
    name: ensembleSize ? `DermLens ensemble of ${ensembleSize} ${config.arch} CNNs` : `DermLens ${config.arch} CNN`,
    version,
    sourceRun: basename(runDir),
    weightsDtype: weights,
    untrained: false,
    created,
    arch: config.arch,
    inputSize: config.size,
    parameters,
    weightBytes,
    latency,
    backbone,
    training: `${ensembleSize ? `${ensembleSize} networks, each trained` : 'Trained'} ${backbone ? `from the ImageNet-pretrained MobileNetV2 in ${backbone.knownAs ?? 'an unrecognised file'} (sha256 ${backbone.sha256.slice(0, 16)}..., ${backbone.licence ?? 'licence unknown'}; the new 7-class head trained alone for ${recipe.headEpochs} epochs, then ${recipe.freezeUntil ? `blocks ${recipe.freezeUntil} onwards` : 'the whole network'} fine-tuned with the backbone at ${recipe.backboneLrScale}x the head's learning rate, weight decay ${recipe.weightDecay})` : 'from scratch'} on ${externalCard?.sources ? externalCard.sources.sources.map((src) => src.name).join(' + ') : 'HAM10000'} (${refitOf ? `${splitSizes.train + splitSizes.val} images: the training and validation sides` : `${splitSizes.train} training images`}, lesion-grouped split, seed ${split.seed}) with ${recipe.balance === 'sampling' ? 'class-balanced sampling' : recipe.balance === 'weights' ? 'a class-weighted loss' : 'no class balancing'}, ${recipe.augment} augmentation, label smoothing ${recipe.labelSmoothing}${recipe.fieldOfView ? `, a random round field of view (black outside an ellipse, as a dermoscope shows it) on ${Math.round(100 * (recipe.fieldOfView as number))}% of the training images` : ''}, ${recipe.epochs} epochs${recipe.ema ? `; the shipped weights are an exponential moving average (decay ${recipe.ema}) of the trained ones` : ''}; ${ensembleSize ? `each network's best epoch (${training.bestEpochs.join(', ')}) chosen on validation balanced accuracy. The networks differ only in their seed for initialisation, batch order, augmentation and dropout (${seeds.join(', ')}); the shipped model averages their probabilities.` : refitOf ? `last epoch kept. This is a refit: run ${refitName} trained the same recipe on the ${splitSizes.train} training images alone, was validated (its best epoch, ${refitName}'s temperature, test-time flip mode and melanoma threshold were chosen on validation), and the shipped network then repeated the recipe on training + validation images; those settings and the validation numbers in this card are ${refitName}'s.` : 'best epoch chosen on validation balanced accuracy.'}`,
    evaluation: { split: `held-out test split (whole lesions, never used for any choice), ${test.n} images`, ...metricsJson(test) },
    metrics: { val: metricsJson(val), test: metricsJson(test) },
    ...(refitOf
      ? {
          valMetricsFrom: `${refitName}: the shipped network is its refit on training + validation images, so it has no validation numbers of its own`,
        }
      : {}),
    baseline,
    previousModel,
    calibration: { temperature: detail.temperature, valEceBefore: detail.valEceUncalibrated, valEceAfter: val.ece, testEce: test.ece },
    inference: {
      tta: detail.tta,
      temperature: detail.temperature,
      topClass: 'arg-max of the calibrated probabilities',
      melanomaThreshold: op?.melanomaThreshold ?? null,
    },
    melanomaOperatingPoint: op,
    dermoscopyGate: gate
      ? {
          method: gate.method,
          threshold: gate.threshold,
          ...(gate.format === 'dermlens-gate-v2'
            ? { kinds: gate.kinds, clinicalThreshold: gate.clinicalThreshold, clinicalSet: gate.clinicalSet }
            : {}),
          targetValFlagRate: gate.targetValFlagRate,
          training: gate.training,
          val: gate.val,
          test: gate.test,
        }
      : null,
    clinicalPhotos: clinicalPhotoFigures(gate),
    ...(fieldOfView ? { fieldOfViewCheck: { side: 'test', images: fieldOfView.images, rows: fieldOfView.rows } } : {}),
    ...(externalCard
      ? {
          externalValidation: externalCard.json,
          ...(externalCard.previous?.external
            ? { previousExternalValidation: { name: externalCard.previous.name, ...externalCard.previous.external } }
            : {}),
          ...(externalCard.sources ? { dataSources: externalCard.sources } : {}),
        }
      : {}),
    testIntervals: intervals,
    split: {
      seed: split.seed,
      valFraction: split.valFraction,
      testFraction: split.testFraction,
      sizes: splitSizes,
      perClass: split.counts,
      groupedBy: 'lesion_id',
    },
    preprocessing: {
      version: PREPROCESS_VERSION,
      description:
        'RGBA pixels; centre crop to at most 4:3; area-averaging resize to inputSize x inputSize (linear interpolation when upscaling); alpha composited over white; /255.',
    },
    recipe: {
      ...recipe,
      dataDir: undefined,
      outDir: undefined,
      optimizer: recipe.weightDecay ? 'AdamW (Adam + decoupled weight decay)' : 'Adam',
      backbone: undefined,
      loss: 'categorical cross-entropy',
      ...(refitOf ? { refitFrom: refitName, trainedOn: 'train + val' } : {}),
      ...(ensembleSize
        ? {
            seed: undefined,
            splitSeed: undefined,
            tta: config.tta,
            ensemble: { members: training.members!.map((m) => basename(m)), seeds, splitSeed: split.seed },
          }
        : {}),
    },
    trainCommand,
    candidates: {
      rule: `highest validation balanced accuracy; test numbers played no part${refitOf ? `. A refit carries its reference's validation numbers and ships in its place (research/README.md, fifth round)` : ''}`,
      runs: candidates,
      ...(despite ? { shippedDespite: { leader: bestCandidate.run, reason: despite } } : {}),
    },
    backend: detail.backend,
    epochsTrained: epochs.length,
    trainerCommit: commit,
    provenance,
    data: {
      name: 'HAM10000',
      licence: 'CC BY-NC 4.0',
      source: 'Harvard Dataverse doi:10.7910/DVN/DBW86T',
      citation:
        'Tschandl P., Rosendahl C., Kittler H. The HAM10000 dataset, a large collection of multi-source dermatoscopic images of common pigmented skin lesions. Sci. Data 5, 180161 (2018). doi:10.1038/sdata.2018.161',
    },
    limitations: [
      'Not a diagnosis and not a medical device: for education and research only. See a doctor about any skin lesion that worries you.',
      gateLimitation(gate),
      'HAM10000 comes from two centres (Vienna, Austria and Queensland, Australia) and mostly shows light skin; performance on darker skin types is unknown.',
      'Seven classes only: any other lesion is forced into one of them.',
    ],
  };
  parseModelCard(card); // the extension must be able to read it

  await installModel(modelDir, outDir);
  await writeFile(join(outDir, 'model-card.json'), `${JSON.stringify(card, null, 1)}\n`);

  const pct = (x: number | null | undefined) => (x == null ? 'n/a' : (100 * x).toFixed(1) + '%');
  const num = (x: number | null | undefined) => (x == null ? 'n/a' : x.toFixed(3));
  const row = (label: string, m: Metrics) =>
    `| ${label} | ${num(m.balancedAccuracy)} | ${num(m.macroAuc)} | ${num(m.macroF1)} | ${num(m.accuracy)} | ${num(m.ece)} | ${pct(m.perClass.mel.recall)} | ${pct(m.perClass.mel.precision)} |`;
  const perClassRows = CLASSES.map((c) => {
    const t = test.perClass[c.code];
    const v = val.perClass[c.code];
    const b = baseline.metrics.test.perClass[c.code];
    const p = previousModel?.test.perClass[c.code];
    return `| ${c.code} | ${c.name} | ${t.support} | ${pct(t.recall)} | ${pct(t.precision)} | ${num(t.f1)} | ${num(t.auc)} | ${pct(v.recall)} |${previousModel ? ` ${pct(p?.recall)} |` : ''} ${pct(b.recall)} |`;
  });
  const confusion = [
    `| truth \\ predicted | ${CLASS_CODES.join(' | ')} |`,
    `|---|${CLASS_CODES.map(() => '---').join('|')}|`,
    ...test.confusion.map((r, i) => `| **${CLASS_CODES[i]}** | ${r.join(' | ')} |`),
  ];
  const ci = (i: Interval | null) => (i ? ` (95% CI ${i.low.toFixed(3)}-${i.high.toFixed(3)})` : '');
  const ciPct = (i: Interval | null) => (i ? ` (95% CI ${pct(i.low)}-${pct(i.high)})` : '');

  // This round's targets (transfer learning): on the test split, the shipped weights' own numbers.
  const targets = [
    ['Balanced accuracy >= 0.78', test.balancedAccuracy >= 0.78, num(test.balancedAccuracy) + ci(intervals.balancedAccuracy)],
    ['Macro one-vs-rest AUC >= 0.96', (test.macroAuc ?? 0) >= 0.96, num(test.macroAuc)],
    op
      ? [
          'Melanoma alert recall >= 0.85 with precision >= 0.40 (alert when P(mel) >= ' + op.melanomaThreshold.toFixed(3) + ')',
          op.test.recall >= 0.85 && op.test.precision >= 0.4,
          `recall ${pct(op.test.recall)}${ciPct(intervals.melanomaRecallAtOperatingPoint)}, precision ${pct(op.test.precision)}; ${pct(op.test.flagged)} of images flagged`,
        ]
      : ['Melanoma alert recall >= 0.85 with precision >= 0.40 (no alert threshold)', false, 'no operating point'],
    ['ECE <= 0.05 after calibration', test.ece <= 0.05, num(test.ece)],
    ['Shipped weights <= 4.5 MB', weightBytes <= 4.5e6, `${(weightBytes / 1e6).toFixed(2)} MB (${weights})`],
    ...gateTargets(gate),
    ...(latency?.reference
      ? [
          [
            `Single-image classify (preprocess + predict), Node, wasm: <= 1.5x the model shipped before, measured in the same run`,
            latency.ratioToReference! <= 1.5,
            `${latency.ratioToReference!.toFixed(2)}x: ${latency.medianMs.toFixed(1)} ms vs ${latency.reference.medianMs.toFixed(1)} ms (medians of ${latency.runMediansMs.length} alternating bench:infer runs each)`,
          ] as const,
        ]
      : latency
        ? [
            [
              'Single-image classify (preprocess + predict), Node, wasm (no reference model measured)',
              true,
              `${latency.medianMs.toFixed(1)} ms (median of ${latency.runMediansMs.length} bench:infer runs: ${latency.runMediansMs.map((m) => m.toFixed(1)).join(', ')} ms)`,
            ] as const,
          ]
        : []),
  ];

  const md = `# Model card: ${card.name} (${version})

**Not a diagnosis. Not a medical device.** DermLens is for education and research. It has not been
clinically validated; a doctor, ideally a dermatologist with a dermatoscope, is the right person to
judge any skin lesion.

## Intended use
Classifying a **dermoscopic** image of a single pigmented skin lesion into the seven HAM10000
categories, on the user's own machine, to learn about and research automated lesion classification.
Out of scope: diagnosis or triage of real patients, phone or clinical (non-dermoscopic) photos,
non-skin images, lesions outside the seven classes.

## Model
- ${
    ensembleSize
      ? `${ensembleSize} networks of architecture \`${config.arch}\` (core/models.ts), merged into one graph that averages their
  probabilities (trainer/model/merge.ts)`
      : `Architecture \`${config.arch}\` (core/models.ts)`
  }: ${parameters.toLocaleString('en')} parameters, ${(weightBytes / 1e6).toFixed(2)} MB of ${weights} weights
  (the original Keras CNN's are 17.2 MB of float32).${
    backbone
      ? `
- Backbone: MobileNetV2 1.0 pretrained on ImageNet, from \`${backbone.knownAs ?? 'an unrecognised file'}\` (${backbone.description ?? ''}),
  sha256 \`${backbone.sha256}\`, licence ${backbone.licence ?? 'unknown'} (google-coral/test_data). Converted by
  \`dermlens import-backbone\`; its BatchNorm is folded into the convolutions, so fine-tuning keeps the ImageNet normalisation
  statistics fixed (research/README.md, sixth round, says why and what was measured). The file itself is not redistributed; only the
  fine-tuned weights ship.`
      : ''
  }
- Input ${config.size}x${config.size} RGB. Preprocessing \`${PREPROCESS_VERSION}\`: ${card.preprocessing.description}
- Inference: ${detail.tta === 'flip' ? 'average of the image and its mirror image (test-time flip), ' : ''}softmax temperature ${detail.temperature.toFixed(3)}
  fitted on the validation split; the reported class is the arg-max.
${
  op
    ? `- **Melanoma operating point:** every result whose melanoma probability is at least ${op.melanomaThreshold.toFixed(3)} also shows a
  melanoma alert, even when another class is more likely. The threshold is the highest one that catches
  ${pct(op.targetValRecall)} of the validation melanomas (validation: recall ${pct(op.val.recall)}, precision ${pct(op.val.precision)}, ${pct(op.val.flagged)} of images flagged).
  On test: melanoma recall **${pct(op.test.recall)}**, precision **${pct(op.test.precision)}**, ${pct(op.test.flagged)} of images flagged
  (arg-max alone: recall ${pct(test.perClass.mel.recall)}, precision ${pct(test.perClass.mel.precision)}). Missing a melanoma costs far more than
  a false alarm, so the alert trades precision for recall.`
    : '- No melanoma alert threshold (no validation melanomas to choose one from).'
}

## Data
HAM10000 (Tschandl, Rosendahl, Kittler, *Sci. Data* 5, 180161, 2018, doi:10.1038/sdata.2018.161),
10,015 dermoscopic images of 7,470 lesions from Harvard Dataverse doi:10.7910/DVN/DBW86T, licence
**CC BY-NC 4.0** (non-commercial; images are not redistributed with DermLens).
Split by \`lesion_id\` (every lesion wholly on one side), stratified by class, seed ${split.seed}:
train ${splitSizes.train}, validation ${splitSizes.val}, test ${splitSizes.test} images.
Every choice the trainer makes (epoch, ${config.tta ? 'test-time flip, ' : ''}temperature, melanoma threshold) and the choice
between runs were made on validation; test numbers chose nothing.${
    refitOf
      ? ` The shipped network is a **refit**: after run
${refitName} was chosen on validation, its recipe was trained again on the training and validation images together
(${splitSizes.train + splitSizes.val} images) and its last epoch kept; the temperature, flip mode and melanoma threshold are ${refitName}'s, and
so are the validation numbers below (the refit has none of its own).`
      : ''
  } research/README.md says each time
test numbers were read during development.${config.tta ? '' : ' Test-time flip averaging is off: it doubles the classify time.'}

## Results on the held-out test split (${test.n} images)

| model | balanced acc. | macro AUC | macro F1 | accuracy | ECE | melanoma recall | melanoma precision |
|---|---|---|---|---|---|---|---|
${row(`**shipped** ${ensembleSize ? `${ensembleSize} x ` : ''}\`${config.arch}\` ${config.size} px`, test)}
${
  previousModel
    ? `${row(`previously shipped: ${previousModel.name} (${previousModel.version})`, previousModel.test)}
`
    : ''
}${row(`seed baseline (original Keras recipe, ${baseline.inputSize} px, ${baseline.epochsTrained} epochs, best epoch ${baseline.bestEpoch})`, baseline.metrics.test)}

Validation split${refitOf ? ` (${refitName}, the validated run the shipped network refits)` : ''}: shipped ${num(val.balancedAccuracy)} balanced accuracy, ${num(val.macroAuc)} macro AUC;
baseline ${num(baseline.metrics.val.balancedAccuracy)} and ${num(baseline.metrics.val.macroAuc)}.${
    quantized
      ? `
The shipped weights are the ${weights} copy; every test number here is that copy's own (the float32 network it was made from:
balanced accuracy ${num(detail.test.balancedAccuracy)}, macro AUC ${num(detail.test.macroAuc)}); validation numbers and every choice are the float32 network's.`
      : ''
  }
"Accuracy" alone is misleading here: always answering "nv" scores ${pct(test.perClass.nv.support / test.n)} on this split.

### Targets
| target | met | value |
|---|---|---|
${targets.map(([t, ok, v]) => `| ${t} | ${ok ? 'yes' : '**no**'} | ${v} |`).join('\n')}

Intervals: ${intervals.method}.

### Per class (test; validation recall, ${previousModel ? "the previously shipped model's and " : ''}the baseline's test recall for comparison)
| code | class | support | recall | precision | F1 | AUC | val recall |${previousModel ? ' previous model recall |' : ''} baseline recall |
|---|---|---|---|---|---|---|---|${previousModel ? '---|' : ''}---|
${perClassRows.join('\n')}

### Confusion matrix (test; rows = truth)
${confusion.join('\n')}

### Calibration
Temperature ${detail.temperature.toFixed(3)} (fitted on validation by minimising the negative log-likelihood${refitOf ? `, by ${refitName}` : ''}):
validation ECE ${num(detail.valEceUncalibrated)} before, ${num(val.ece)} after; test ECE ${num(test.ece)}.

${externalCard ? externalMarkdown(externalCard.json, externalCard.sources, externalCard.previous) : ''}## Training recipe
${card.training}
Adam${recipe.weightDecay ? ` with decoupled weight decay ${recipe.weightDecay} (AdamW)` : ''}, learning rate ${recipe.lr}${backbone ? ` for the head and ${(recipe.lr as number) * (recipe.backboneLrScale as number)} for the backbone` : ''} (${recipe.lrSchedule}${recipe.warmupEpochs ? `, ${recipe.warmupEpochs} warm-up epochs` : ''}), batch ${recipe.batch}.
${epochs.length} epochs${ensembleSize ? ' per network' : ''} trained on the \`${detail.backend}\` backend. What was tried before choosing this recipe, and what
each change bought on validation, is in research/README.md.
${
  candidates.length > 1
    ? `
### Runs considered for shipping (validation split only)
Full-length runs of this trainer on this split. ${
        despite
          ? `**The shipped run is not the one with the highest validation balanced accuracy (${bestCandidate.run} is)**: it was
shipped against that rule, for this reason: ${despite}`
          : 'The shipped one is the run with the highest validation\nbalanced accuracy; test numbers played no part in the choice.'
      }${
        refitOf
          ? ` A refit is listed with its reference's validation numbers and
ships in the reference's place; both were fixed before the refit's test numbers existed (research/README.md, fifth round).`
          : ''
      }

| run | arch | input | epochs (best) | balance | augment | weight EMA | test-time flip | val balanced acc. | val macro AUC | val ECE | val melanoma recall (arg-max) |
|---|---|---|---|---|---|---|---|---|---|---|---|
${candidates.map((c, i) => `| ${i === 0 ? `**${c.run}** (shipped)` : c.run}${'refitOf' in c ? ` (refit of ${c.refitOf}: its validation numbers)` : ''} | ${c.arch} | ${c.inputSize} px | ${c.epochs} (${c.bestEpoch ?? c.memberBestEpochs?.join('/')}) | ${c.balance} | ${c.augment} | ${c.ema || 'no'} | ${c.tta} | ${num(c.valBalancedAccuracy)} | ${num(c.valMacroAuc)} | ${num(c.valEce)} | ${pct(c.valMelanomaRecall)} |`).join('\n')}
`
    : ''
}
${gate ? `${phoneAndClinicalSection(gate, clinicalTraining)}${outOfScopeSection(gate)}` : ''}${
    fieldOfView
      ? `## Images with a round field of view
Most HAM10000 images fill the frame; many dermoscopic images from elsewhere show the dermoscope's round field of
view, black outside a circle. The test images scored as they are and with everything outside a centred circle
blacked out (\`npx tsx scripts/check-field-of-view.ts --model <shipped weights> --run <run> --side test\`; the
circle's diameter is given as a multiple of the 4:3 photo's height):

| test images (${fieldOfView.images}) | balanced accuracy | macro AUC | melanoma recall (arg-max) | flagged "not dermoscopic" |
|---|---|---|---|---|
${fieldOfView.rows.map((r) => `| ${r.fieldOfView} | ${num(r.balancedAccuracy)} | ${r.macroAuc === null ? '-' : num(r.macroAuc)} | ${pct(r.recall.mel)} | ${r.gateFlagged === null ? 'no gate' : pct(r.gateFlagged)} |`).join('\n')}

`
      : ''
  }## Known limitations
${card.limitations.map((l) => `- ${l}`).join('\n')}
- The test split has only ${test.perClass.df.support} dermatofibroma and ${test.perClass.vasc.support} vascular images: their per-class numbers carry wide uncertainty.
- Several HAM10000 images of one lesion make the data look bigger than it is; the lesion-grouped split keeps the test honest, but a different hospital's images may score lower.

## Reproduce
\`\`\`
npm run train:baseline    # the seed row: ${'`'}dermlens train --arch seed${'`'} with the original recipe, into runs/seed-baseline
npm run train:release     # this model: trains into runs/release, then ships it into extension/model/
\`\`\`
(${trainCommand}; both expect HAM10000 in ../shared/ham10000 or DERMLENS_DATA.)
Trainer commit ${commit}. Created ${created}.
`;
  await writeFile(join(outDir, 'MODEL_CARD.md'), md);
  log(`shipped ${modelDir} -> ${outDir} (${(weightBytes / 1e6).toFixed(2)} MB), model-card.json and MODEL_CARD.md written`);
  for (const [t, ok, v] of targets) log(`  ${ok ? 'MET ' : 'MISS'} ${t}: ${v}`);
  return { outDir, modelDir, targets: targets as Array<[string, boolean, string]> };
}
