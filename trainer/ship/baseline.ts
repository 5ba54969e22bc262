// The card's seed-baseline row (the original Keras recipe, trained by `npm run train:baseline`): every
// card compares the shipped model with it on the same test split.
import type { CanonicalInputSize } from '../../core/preprocess.ts';
import { resolve } from 'node:path';
import type { Metrics } from '../../core/metrics.ts';
import { metricsJson } from '../evaluate/evaluate-model.ts';
import { loadSplit, sameSides, type SavedSplit } from '../data/split.ts';
import { readHistory } from '../run/files.ts';
import { runPaths } from '../run/layout.ts';
import { bestEpochOf, epochsOf, readFinalEvaluation, readRunConfig } from './read-run.ts';

export interface BaselineRow {
  arch: string;
  /** The run's input: a side, or "WxH" for a non-square one (TrainConfig.size). */
  inputSize: CanonicalInputSize;
  epochsTrained: number;
  bestEpoch: number;
  metrics: { val: Metrics; test: Metrics };
  temperature: number;
  tta: string;
}

/**
 * From the baseline's run folder (--baseline), else as the previous card recorded it: the baseline is
 * trained once, and its folder need not be on the machine that ships.
 */
export async function readBaseline(
  baselineRun: string | undefined,
  previous: { path: string; card: { baseline?: BaselineRow } | null },
  split: SavedSplit,
): Promise<BaselineRow> {
  if (baselineRun) {
    const dir = resolve(baselineRun);
    const [c, d, s, h] = await Promise.all([
      readRunConfig(dir),
      readFinalEvaluation(dir),
      loadSplit(runPaths(dir).split),
      readHistory(dir),
    ]);
    if (!h) throw new Error(`${runPaths(dir).history} is missing: the baseline row needs its epochs`);
    // Same image ids on every side, not just the same counts: rows of one table must share one test split.
    if (!sameSides(s, split)) throw new Error('the baseline run used a different split; compare models on the same split only');
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
  if (!previous.card?.baseline)
    throw new Error(
      `no --baseline run and no baseline row in ${previous.path}: give --baseline runs/seed-baseline (npm run train:baseline)`,
    );
  return previous.card.baseline;
}
