// Classifier predictions -> the ClassificationResult every view shows and tests read.
import { CLASS_CODES } from '../../core/labels.ts';
import { lesionResult } from '../../core/lesion-result.ts';
import type { ClassificationResult, Heatmap } from './messages.ts';

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
  /** From model-card.json, for a "clinical" verdict; absent for older models. */
  clinicalPhotos?: ClassificationResult['clinicalPhotos'];
}

/** Calibrated probabilities in CLASS_CODES order (from the classifier) plus where they came from -> the card's result (core/lesion-result.ts builds the shared part). */
export function toClassificationResult(probabilities: ArrayLike<number>, details: ResultDetails): ClassificationResult {
  return { ...lesionResult(probabilities, details.melanomaThreshold), ...details, dermoscopy: details.dermoscopy ?? null };
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
