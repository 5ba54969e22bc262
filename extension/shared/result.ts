// Classifier predictions -> the ClassificationResult every view shows and tests read.
import { CLASS_CODES, isConcerning } from '../../core/labels.ts';
import { melanomaAlert as isMelanomaAlert } from '../../core/operating-point.ts';
import type { ClassificationResult, ClassPrediction, Heatmap } from './messages.ts';

export interface ResultDetails {
  melanomaThreshold: number | null;
  ms: number;
  timings: ClassificationResult['timings'];
  modelVersion: string;
  untrained: boolean;
  width: number;
  height: number;
  heatmap?: Heatmap;
  /** The dermoscopy gate's verdict from the same pass; absent or null for a model without the gate. */
  dermoscopy?: ClassificationResult['dermoscopy'];
}

/** Predictions must be all seven classes; they are re-sorted most likely first. */
export function toClassificationResult(predictions: readonly ClassPrediction[], details: ResultDetails): ClassificationResult {
  if (predictions.length !== CLASS_CODES.length) {
    throw new Error(`Expected ${CLASS_CODES.length} class probabilities, got ${predictions.length}.`);
  }
  const sorted = predictions.map((p) => ({ code: p.code, name: p.name, group: p.group, probability: p.probability }))
    .sort((a, b) => b.probability - a.probability);
  const concerningProbability = sorted.filter((p) => isConcerning(p.group)).reduce((sum, p) => sum + p.probability, 0);
  const inClassOrder = CLASS_CODES.map((code) => sorted.find((p) => p.code === code)!.probability);
  const melanomaAlert = isMelanomaAlert(inClassOrder, details.melanomaThreshold);
  return { predictions: sorted, top: sorted[0].code, concerningProbability, melanomaAlert, ...details, dermoscopy: details.dermoscopy ?? null };
}

/** The seven probabilities in CLASS_CODES order (the order of the host element's data-probabilities). */
export function probabilitiesInClassOrder(result: ClassificationResult): number[] {
  return CLASS_CODES.map((code) => result.predictions.find((p) => p.code === code)?.probability ?? NaN);
}

/** "12.3 %" with one decimal below 10 % and none above, so small values stay visible without clutter. */
export function formatPercent(probability: number): string {
  const percent = probability * 100;
  if (percent > 0 && percent < 0.1) return '<0.1 %';
  return `${percent < 10 ? percent.toFixed(1) : percent.toFixed(0)} %`;
}
