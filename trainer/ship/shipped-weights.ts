// Which weights ship (best/, or the quantized copy the trainer exported and evaluated), what they weigh,
// and the test numbers that are their own: a quantized copy reports its own metrics and alert, never the
// float32 network's it was made from.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Metrics } from '../../core/metrics.ts';
import type { MelanomaOperatingPoint } from '../evaluate/final-evaluation.ts';
import { runPaths } from '../run/layout.ts';
import type { ModelJson, RunEvaluation } from './read-run.ts';

export type Weights = 'float32' | 'float16';

/** The folder whose model ships: best/ or the quantized copy the trainer exported and evaluated. */
export function shippedModelDir(runDir: string, weights: Weights | undefined): { weights: Weights; modelDir: string } {
  const w = weights ?? 'float32';
  if (!['float32', 'float16'].includes(w)) throw new Error(`--weights ${w}: choose float32 or float16`);
  return { weights: w, modelDir: w === 'float32' ? runPaths(runDir).best : runPaths(runDir).quantized(w) };
}

/** The parameter count from model.json, and what the extension downloads: the shipped shards' bytes. */
export async function modelSize(modelDir: string, modelJson: ModelJson) {
  const parameters = modelJson.weightsManifest.flatMap((g) => g.weights).reduce((a, w) => a + w.shape.reduce((x, y) => x * y, 1), 0);
  const weightBytes = (
    await Promise.all((await readdir(modelDir)).filter((f) => f.endsWith('.bin')).map((f) => stat(join(modelDir, f)).then((st) => st.size)))
  ).reduce((a, b) => a + b, 0);
  return { parameters, weightBytes };
}

export type ShippedNumbers = ReturnType<typeof shippedNumbers>;
/** The shipped weights' test metrics and melanoma alert; validation numbers (and every choice) are the float32 network's. */
export function shippedNumbers(runDir: string, detail: RunEvaluation, weights: Weights) {
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
  const runOp: MelanomaOperatingPoint | null = detail.operatingPoint ?? null;
  const op = runOp && quantized ? { ...runOp, test: quantized.operatingPointTest! } : runOp;
  const val: Metrics = detail.val;
  return { quantized, test, val, op };
}
