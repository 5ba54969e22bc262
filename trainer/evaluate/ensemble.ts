// `dermlens ensemble`: turns finished training runs on one split into a run folder whose best/ model
// averages their probabilities (trainer/model/merge.ts), calibrated and evaluated exactly as a
// training run's final model is (finalEvaluation: temperature, flip mode and melanoma threshold chosen
// on validation, test evaluated once). The folder has the files a training run ends with (config.json,
// split.json, best/, metrics*.json, predictions.json, report.html, provenance.json) except history and
// checkpoints, so `dermlens report`, `npm run ship` and the extension take it like any run.
import type { CanonicalInputSize } from '../../core/preprocess.ts';
import { mkdir, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { tf } from '../../core/tf.ts';
import { dermlensMetadata } from '../../core/model-metadata.ts';
import { exportModel } from '../model/export.ts';
import type { Quantization } from '../run/config.ts';
import { mergeModels } from '../model/merge.ts';
import { loadHeldOut } from '../data/held-out.ts';
import { readRunSources } from '../data/run-sources.ts';
import { exists, readJsonFile, readJsonIfExists, writeJsonAtomic } from '../run/json.ts';
import { runPaths } from '../run/layout.ts';
import { loadClassifierOnly } from '../run/model-files.ts';
import { appendProvenance, currentProvenance } from '../run/provenance.ts';
import { writeRunReport } from './run-report.ts';
import { loadSplit, sameHeldOutSides, saveSplit, type SavedSplit } from '../data/split.ts';
import type { TrainConfig } from '../run/config.ts';
import { finalEvaluation, type FinalEvaluation } from './final-evaluation.ts';

/** config.json of an ensemble run. */
export interface EnsembleConfig {
  kind: 'ensemble';
  /** The member training runs (absolute folders), in the order their networks are merged. */
  members: string[];
  dataDir: string;
  /** The members' --extra-data folders (in order of first use): where the external validation images are. */
  extraData?: string[];
  outDir: string;
  /** The members' architecture(s), e.g. "compact" or "compact+seed". */
  arch: string;
  /** The members' shared input (TrainConfig.size). */
  size: CanonicalInputSize;
  /** Also evaluate with flip averaging, and keep it if it helps on val. */
  tta: boolean;
  quantize: Quantization;
  /** The shared split's seed and fractions (from its split.json). */
  seed: number;
  valFraction: number;
  testFraction: number;
}

export interface EnsembleRequest {
  members: string[];
  outDir: string;
  tta: boolean;
  quantize: Quantization;
  /** Dataset folder; default: the first member's. */
  dataDir?: string;
}

/**
 * Checks that every member is a finished run with the same held-out sides (validation, test, external) at one
 * input size; returns their configs and the ensemble's split: those sides, and as training side every image
 * any member trained on (members may differ there, e.g. one also trained on phone photos, but no member may
 * have trained on an image another holds out).
 */
async function readMembers(dirs: string[]): Promise<{ configs: TrainConfig[]; split: SavedSplit }> {
  if (dirs.length < 2) throw new Error(`an ensemble needs at least two member runs (--member <run> twice or more), got ${dirs.length}`);
  if (new Set(dirs).size !== dirs.length)
    throw new Error('a member run is listed twice: averaging a network with itself only weights it more');
  const configs: TrainConfig[] = [];
  let split: SavedSplit | undefined;
  for (const dir of dirs) {
    const config = await readJsonFile<TrainConfig>(runPaths(dir).config, `member ${dir}`);
    await readJsonFile(runPaths(dir).metricsDetail, `member ${dir} has not finished training`);
    await stat(runPaths(dir).bestModel).catch(() => {
      throw new Error(`member ${dir} has no best/model.json`);
    });
    const memberSplit = await loadSplit(runPaths(dir).split);
    if (split && !sameHeldOutSides(split, memberSplit)) {
      throw new Error(
        `member ${dir} holds out other images than ${dirs[0]} (validation, test or external); members must share them (train them with the same --split-seed and --external)`,
      );
    }
    if (configs.length && config.size !== configs[0].size) {
      throw new Error(`member ${dir} takes ${config.size} px, ${dirs[0]} takes ${configs[0].size} px: members must share the input size`);
    }
    if (split) {
      const trained = new Set(split.train);
      split.train.push(...memberSplit.train.filter((id) => !trained.has(id)));
    }
    split ??= { ...memberSplit, train: [...memberSplit.train] };
    configs.push(config);
  }
  return { configs, split: split! };
}

export async function buildEnsemble(
  request: EnsembleRequest,
  options: { cacheDir?: string; backend?: string; log?: (line: string) => void } = {},
): Promise<{ config: EnsembleConfig; final: FinalEvaluation }> {
  const log = options.log ?? ((line: string) => console.log(line));
  const members = request.members.map((m) => resolve(m));
  const outDir = resolve(request.outDir);
  if (members.includes(outDir)) throw new Error(`--out ${outDir} is one of the members`);
  const { configs, split } = await readMembers(members);
  // An ensemble that was interrupted before its evaluation finished is simply made again; a finished
  // one, or a training run, is never overwritten.
  const existing = await readJsonIfExists<{ kind?: string }>(runPaths(outDir).config).catch(() => null);
  if (existing && (existing.kind !== 'ensemble' || (await exists(runPaths(outDir).metricsDetail)))) {
    throw new Error(`${outDir} already holds a ${existing.kind === 'ensemble' ? 'finished ensemble' : 'run'}; choose another --out`);
  }
  const dataDir = resolve(request.dataDir ?? configs[0].dataDir);
  const extraData = [...new Set(configs.flatMap((c) => c.extraData ?? []))];
  const config: EnsembleConfig = {
    kind: 'ensemble',
    members,
    dataDir,
    ...(extraData.length ? { extraData } : {}),
    outDir,
    arch: [...new Set(configs.map((c) => c.arch))].join('+'),
    size: configs[0].size,
    tta: request.tta,
    quantize: request.quantize,
    seed: split.seed,
    valFraction: split.valFraction,
    testFraction: split.testFraction,
  };
  /** The model's metadata name for it (the config keeps the members' architecture, as a training run's does). */
  const modelArch = `ensemble of ${members.length} ${config.arch}`;

  // The data folders are read once, before anything is written: the union's training counts and the external images.
  const sources = await readRunSources({ dataDir, extraData, external: configs[0].external }, () => {});

  // Merge first: a member that cannot be merged fails before anything is written.
  // A member whose gate was fitted (dermlens fit-gate) is merged as its classifier alone: the ensemble gets its own gate.
  const loaded = await Promise.all(members.map((m) => loadClassifierOnly(runPaths(m).best)));
  let merged: tf.LayersModel;
  try {
    merged = await mergeModels(
      loaded.map((l) => l.model),
      `ensemble${members.length}`,
    );
  } finally {
    for (const l of loaded) l.dispose();
  }
  try {
    await mkdir(outDir, { recursive: true });
    await writeJsonAtomic(runPaths(outDir).config, config);
    // Per-class counts of the union's training side need every member's labels (phone photos included).
    await saveSplit(runPaths(outDir).split, split, { ...split, items: sources.items });
    await appendProvenance(outDir, currentProvenance(false));
    await exportModel(merged, runPaths(outDir).best, dermlensMetadata({ arch: modelArch, inputSize: config.size }));
  } finally {
    merged.dispose();
  }
  log(`merged ${members.length} networks (${members.join(', ')}) into ${runPaths(outDir).best}`);

  // Only the held-out images are needed: the members are trained already.
  const { ds, idx } = await loadHeldOut(dataDir, split, config.size, options.cacheDir, sources.perFolder.slice(1));
  if (ds.skipped.length)
    log(
      `skipped ${ds.skipped.length} unreadable image(s): ${ds.skipped
        .slice(0, 5)
        .map((x) => `${x.imageId} (${x.reason})`)
        .join(', ')}${ds.skipped.length > 5 ? ', ...' : ''}`,
    );
  for (const side of ['val', 'test'] as const) {
    if (idx[side].length === 0) throw new Error(`the ${side} split has no loadable images in ${dataDir}`);
  }
  const labelOf = (i: number) => ds.items[i].label;
  const final = await finalEvaluation({ ...config, arch: modelArch }, ds, idx, idx.val.map(labelOf), idx.test.map(labelOf), options, log);
  log(`report: ${await writeRunReport(outDir, { backend: options.backend })}`);
  return { config, final };
}
