// The run folder's layout: every file a run (dermlens train, ensemble, fit-gate) writes, by name, in
// one place. Readers and writers take their paths from here.
//
//   config.json           the recipe and folders (run/config.ts)        split.json       the lesion-grouped split
//   history.json          one line per epoch                            provenance.json  the trainer's commits
//   checkpoint/           the last complete epoch (train/checkpoint.ts) best/            the kept model (+ best-<q>/)
//   metrics.json          test metrics                                  metrics-detail.json  everything of the final evaluation
//   predictions.json      calibrated val/test probabilities             predictions-<q>.json the quantized copy's
//   gate.json             the dermoscopy gate's fit (fit-gate)          report.html      the run's report
//   field-of-view-<side>.json  a model scored with a round field of view (scripts/check-field-of-view.ts)
import { join } from 'node:path';

export const CONFIG_FILE = 'config.json';
export const SPLIT_FILE = 'split.json';
export const HISTORY_FILE = 'history.json';
export const PROVENANCE_FILE = 'provenance.json';
export const CHECKPOINT_DIR = 'checkpoint';
/** The checkpoint's own description (epoch, history, best score), inside CHECKPOINT_DIR. */
export const CHECKPOINT_STATE_FILE = 'state.json';
export const BEST_DIR = 'best';
export const METRICS_FILE = 'metrics.json';
export const METRICS_DETAIL_FILE = 'metrics-detail.json';
/** Calibrated val/test probabilities of the final model (for the report's ROC curves and later analysis). */
export const PREDICTIONS_FILE = 'predictions.json';
export const GATE_FILE = 'gate.json';
/** The data folders a run used and its per-source counts per side and class (trainer/data/run-sources.ts). */
export const SOURCES_FILE = 'sources.json';
export const REPORT_FILE = 'report.html';
/** scripts/check-field-of-view.ts's scores of a model on one side of the split, clean and with a round field of view. */
export const fieldOfViewFile = (side: string): string => `field-of-view-${side}.json`;

/** The quantized copy of best/ (--quantize). */
export const quantizedDir = (dtype: string): string => `${BEST_DIR}-${dtype}`;
/** The quantized copy's calibrated test predictions (--quantize). */
export const quantizedPredictionsFile = (dtype: string): string => `predictions-${dtype}.json`;

/** Absolute paths of a run folder's files. */
export function runPaths(runDir: string) {
  return {
    dir: runDir,
    config: join(runDir, CONFIG_FILE),
    split: join(runDir, SPLIT_FILE),
    history: join(runDir, HISTORY_FILE),
    provenance: join(runDir, PROVENANCE_FILE),
    checkpoint: join(runDir, CHECKPOINT_DIR),
    best: join(runDir, BEST_DIR),
    bestModel: join(runDir, BEST_DIR, 'model.json'),
    quantized: (dtype: string) => join(runDir, quantizedDir(dtype)),
    metrics: join(runDir, METRICS_FILE),
    metricsDetail: join(runDir, METRICS_DETAIL_FILE),
    predictions: join(runDir, PREDICTIONS_FILE),
    quantizedPredictions: (dtype: string) => join(runDir, quantizedPredictionsFile(dtype)),
    gate: join(runDir, GATE_FILE),
    sources: join(runDir, SOURCES_FILE),
    report: join(runDir, REPORT_FILE),
    fieldOfView: (side: string) => join(runDir, fieldOfViewFile(side)),
  };
}
