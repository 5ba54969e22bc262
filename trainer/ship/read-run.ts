// The shipped run's own files, as ship reads them: its config (a training run's, or an ensemble's naming
// its members), split, final evaluation, model.json, the training side (configs and histories, one per
// member) and the trainer commits that made it. Each read names the file and what to run when it fails.
import { join } from 'node:path';
import type { FinalEvaluation } from '../evaluate/final-evaluation.ts';
import { loadSplit } from '../data/split.ts';
import { selectionScore, type SelectOn, type TrainConfig } from '../run/config.ts';
import { readJsonFile } from '../run/json.ts';
import { readHistory, readMetricsDetail, readTrainConfig } from '../run/files.ts';
import { runPaths } from '../run/layout.ts';
import { readProvenance } from '../run/provenance.ts';
import { clinicalTrainingOf } from './gate-card.ts';

/** A run's config.json: a training run's (validated), or an ensemble's, which names its members. */
export type RunConfig = TrainConfig & { kind?: string; members?: string[] };
export async function readRunConfig(dir: string): Promise<RunConfig> {
  const raw = await readJsonFile<{ kind?: string }>(runPaths(dir).config, 'ship');
  return raw.kind === 'ensemble' ? (raw as RunConfig) : await readTrainConfig(dir, 'ship');
}

export type RunEvaluation = FinalEvaluation & { backend?: string };
/** metrics-detail.json, which every finished run has. */
export async function readFinalEvaluation(dir: string): Promise<RunEvaluation> {
  const detail = await readMetricsDetail<RunEvaluation>(dir, 'ship');
  if (!detail) throw new Error(`${runPaths(dir).metricsDetail} is missing: ${dir} has not finished training (or its final evaluation)`);
  return detail;
}

export interface ModelJson {
  weightsManifest: Array<{ paths: string[]; weights: Array<{ shape: number[] }> }>;
  userDefinedMetadata?: { dermlens?: { dermoscopyThreshold?: number | null; clinicalThreshold?: number | null } };
}

/** What ship reads of the run before anything else; the order is the order its errors are met in. */
export async function readShippedRun(runDir: string, modelDir: string) {
  const config = await readRunConfig(runDir);
  const split = await loadSplit(runPaths(runDir).split);
  const clinicalTraining = await clinicalTrainingOf(config, split);
  const detail = await readFinalEvaluation(runDir);
  const modelJson = await readJsonFile<ModelJson>(join(modelDir, 'model.json'), 'ship');
  return { config, split, clinicalTraining, detail, modelJson };
}

/** Keys in which the members of a shipped ensemble may differ: the card describes one shared recipe. */
// selectOn too: the card says how each network's epoch was chosen.
const PER_MEMBER_KEYS = new Set(['seed', 'splitSeed', 'outDir', 'tta', 'quantize', 'patience', 'selectOn']);

export type Training = Awaited<ReturnType<typeof readTraining>>;
/**
 * A run's training side: for a training run its config and history; for an ensemble run each member's,
 * with the recipe they share (refused when they differ in anything but the seeds, which the card could
 * not describe as one recipe).
 */
export async function readTraining(dir: string, config: RunConfig | Record<string, unknown>, sharedRecipe = true) {
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
  // A candidate's row needs only its epochs: its members may differ (e.g. one also trained on phone photos).
  for (const [i, c] of sharedRecipe ? configs.entries() : []) {
    const differs = Object.keys({ ...c, ...configs[0] }).filter(
      (k) => !PER_MEMBER_KEYS.has(k) && JSON.stringify(c[k]) !== JSON.stringify(configs[0][k]),
    );
    if (differs.length)
      throw new Error(
        `ensemble ${dir}: member ${members![i]} differs from ${members![0]} in ${differs.join(', ')}; the card describes one shared recipe`,
      );
  }
  // A refit keeps its last epoch: it has no validation score per epoch to pick one by.
  const bestEpochs = config.refitFrom
    ? [histories[0].length]
    : histories.map((h, i) => bestEpochOf(h, configs[i].selectOn as SelectOn | undefined));
  return { members, configs, histories, recipe: configs[0], bestEpochs, ensembleSize: members?.length ?? 0 };
}

/** history.json as a list of epochs (a plain list, or one wrapped as { epochs }). */
export function epochsOf(h: unknown): Array<{ epoch: number; valBalancedAccuracy: number; extBalancedAccuracy?: number }> {
  // (A refit's epochs have valBalancedAccuracy null; its best epoch is not looked up this way.)
  return Array.isArray(h) ? h : ((h as { epochs?: [] }).epochs ?? []);
}
/** The epoch the run kept: the first with the best score by its own --select-on rule (selectionScore, as training chose it). */
export function bestEpochOf(h: ReturnType<typeof epochsOf>, selectOn?: SelectOn): number {
  const score = (e: (typeof h)[number]) => selectionScore(selectOn, e.valBalancedAccuracy, e.extBalancedAccuracy);
  return h.reduce((best, e) => (score(e) > score(best) ? e : best)).epoch;
}

/** The trainer's commit(s) as recorded by the run itself, by an ensemble's members and by a refit's reference (trainer/run/provenance.ts). */
export async function trainerCommits(runDir: string, training: Training, refitOf: string | null) {
  const provenance = (await Promise.all([runDir, ...(training.members ?? []), ...(refitOf ? [refitOf] : [])].map(readProvenance))).flat();
  const commits = [...new Set(provenance.map((p) => `${p.commit ?? 'unknown'}${p.dirty ? ' (with uncommitted changes)' : ''}`))];
  return { provenance, commit: commits.length ? commits.join(', ') : 'not recorded' };
}
