// Builds the report of a run folder from its files (config.json, history.json, checkpoint state,
// metrics-detail.json, predictions.json), so `dermlens report` can (re)write it for any run, including
// one still training or one trained before predictions.json existed (then the predictions are
// recomputed from best/ and the saved split, which needs a tfjs backend).
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { computeMetrics } from '../core/metrics.ts';
import { findCheckpoint, readCheckpointState } from './checkpoint.ts';
import { loadModelFile } from './evaluate.ts';
import { predictDataset } from './predict.ts';
import { writeReport, type ReportEpoch, type ReportInput, type SplitPredictions } from './report.ts';
import { loadSplit } from './split.ts';
import type { TrainConfig } from './train-config.ts';

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read ${path}: ${(err as Error).message}`);
  }
}

/** Val/test predictions of best/ with its stored temperature and TTA, recomputed from the saved split. */
async function recomputePredictions(runDir: string, config: TrainConfig, cacheDir?: string): Promise<{ val: SplitPredictions; test: SplitPredictions }> {
  // Imported when needed: held-out.ts reaches train.ts, which imports this module.
  const { loadHeldOut } = await import('./held-out.ts');
  const { ds, idx } = await loadHeldOut(config.dataDir, await loadSplit(join(runDir, 'split.json')), config.size, cacheDir);
  const { model, metadata } = await loadModelFile(join(runDir, 'best'));
  try {
    const side = async (indices: number[]): Promise<SplitPredictions> => ({
      imageIds: indices.map((i) => ds.items[i].imageId),
      labels: indices.map((i) => ds.items[i].label),
      probs: (await predictDataset(model, ds, indices, metadata)).map((row) => Array.from(row)),
    });
    // A refit trained on the validation images: its validation predictions are its reference's.
    const val = config.refitFrom
      ? (await readJson<{ val: SplitPredictions }>(join(config.refitFrom, 'predictions.json')))?.val
      : await side(idx.val);
    if (!val) throw new Error(`${config.refitFrom}/predictions.json is missing: the refit's validation predictions are that run's`);
    return { val, test: await side(idx.test) };
  } finally {
    model.dispose();
  }
}

export interface RunReportOptions {
  backend?: string;
  /** Recompute missing predictions from best/ (needs an initialised tfjs backend). */
  recompute?: boolean;
  cacheDir?: string;
}

export async function readRunForReport(runDir: string, opts: RunReportOptions = {}): Promise<ReportInput> {
  const config = await readJson<TrainConfig>(join(runDir, 'config.json'));
  if (!config) throw new Error(`${runDir} is not a training run (no config.json)`);
  const checkpoint = await findCheckpoint(runDir);
  const state = checkpoint ? await readCheckpointState<TrainConfig, ReportEpoch>(checkpoint) : undefined;
  const history = state?.history ?? (await readJson<ReportEpoch[]>(join(runDir, 'history.json'))) ?? [];
  const detail = await readJson<ReportInput['final'] & { backend?: string }>(join(runDir, 'metrics-detail.json'));
  let predictions = await readJson<{ val: SplitPredictions; test: SplitPredictions }>(join(runDir, 'predictions.json'));
  if (!predictions && detail && opts.recompute && await stat(join(runDir, 'best', 'model.json')).catch(() => null)) {
    predictions = await recomputePredictions(runDir, config, opts.cacheDir);
    // Sanity check: the recomputed predictions must reproduce the stored test metrics.
    const again = computeMetrics(predictions.test.labels, predictions.test.probs);
    if (Math.abs(again.balancedAccuracy - detail.test.balancedAccuracy) > 1e-6) {
      throw new Error(`recomputed test predictions give balanced accuracy ${again.balancedAccuracy}, metrics-detail.json says ${detail.test.balancedAccuracy}: best/ changed since the run finished?`);
    }
  }
  return {
    config: { ...config, outDir: runDir },
    history,
    backend: opts.backend ?? detail?.backend,
    bestEpoch: state?.bestEpoch,
    stoppedEarly: state?.stoppedEarly,
    members: (config as { members?: string[] }).members,
    refitFrom: config.refitFrom,
    final: detail,
    predictions,
  };
}

/** Writes runDir/report.html from the run's files; returns its path. */
export async function writeRunReport(runDir: string, opts: RunReportOptions = {}): Promise<string> {
  return writeReport(await readRunForReport(runDir, opts));
}
