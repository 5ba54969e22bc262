// Builds the report of a run folder from its files (config.json, history.json, checkpoint state,
// metrics-detail.json, predictions.json), so `dermlens report` can (re)write it for any run, including
// one still training or one trained before predictions.json existed (then the predictions are
// recomputed from best/ and the saved split, which needs a tfjs backend).
import { computeMetrics } from '../../core/metrics.ts';
import { findCheckpoint, readCheckpointState } from '../run/checkpoint-state.ts';
import { readHistory, readMetricsDetail, readPredictions } from '../run/files.ts';
import { readJsonIfExists } from '../run/json.ts';
import { runPaths } from '../run/layout.ts';
import { loadModelFile } from './evaluate-model.ts';
import { predictDataset } from './predict.ts';
import { writeReport, type ReportEpoch, type ReportInput, type SplitPredictions } from './report-html.ts';
import { loadSplit } from '../data/split.ts';
import { loadHeldOut } from '../data/held-out.ts';
import type { TrainConfig } from '../run/config.ts';
import { exists } from '../run/json.ts';

/** Val/test predictions of best/ with its stored temperature and TTA, recomputed from the saved split. */
async function recomputePredictions(
  runDir: string,
  config: TrainConfig,
  cacheDir?: string,
): Promise<{ val: SplitPredictions; test: SplitPredictions }> {
  const { ds, idx } = await loadHeldOut(config.dataDir, await loadSplit(runPaths(runDir).split), config.size, cacheDir);
  const { model, metadata } = await loadModelFile(runPaths(runDir).best);
  try {
    const side = async (indices: number[]): Promise<SplitPredictions> => ({
      imageIds: indices.map((i) => ds.items[i].imageId),
      labels: indices.map((i) => ds.items[i].label),
      probs: (await predictDataset(model, ds, indices, metadata)).map((row) => Array.from(row)),
    });
    // A refit trained on the validation images: its validation predictions are its reference's.
    const val = config.refitFrom ? (await readPredictions(runPaths(config.refitFrom).predictions))?.val : await side(idx.val);
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
  const paths = runPaths(runDir);
  // A training run's or an ensemble's config.json (their shapes differ; each command checks its own).
  const config = await readJsonIfExists<TrainConfig>(paths.config);
  if (!config) throw new Error(`${runDir} is not a training run (no config.json)`);
  const checkpoint = await findCheckpoint(runDir);
  const state = checkpoint ? await readCheckpointState(checkpoint) : undefined;
  const history: ReportEpoch[] = state?.history ?? (await readHistory(runDir)) ?? [];
  const detail = await readMetricsDetail<ReportInput['final'] & { backend?: string }>(runDir);
  let predictions = (await readPredictions(paths.predictions)) as { val: SplitPredictions; test: SplitPredictions } | undefined;
  if (!predictions && detail && opts.recompute && (await exists(paths.bestModel))) {
    predictions = await recomputePredictions(runDir, config, opts.cacheDir);
    // Sanity check: the recomputed predictions must reproduce the stored test metrics.
    const again = computeMetrics(predictions.test.labels, predictions.test.probs);
    if (Math.abs(again.balancedAccuracy - detail.test.balancedAccuracy) > 1e-6) {
      throw new Error(
        `recomputed test predictions give balanced accuracy ${again.balancedAccuracy}, metrics-detail.json says ${detail.test.balancedAccuracy}: best/ changed since the run finished?`,
      );
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
