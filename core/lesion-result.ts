// The result of classifying one image, built once for every surface that shows it: the predictions in
// class order turned into the seven classes most likely first, the top class, the probability of the
// types that need a doctor, and the melanoma alert. The extension's card and popup and the CLI's
// classify all start from this shape. Free of TensorFlow.js, so the light extension bundles can use it.
import { CLASSES, CLASS_CODES, isConcerning, type ClassCode, type LesionGroup } from './labels.ts';
import { melanomaAlert } from './operating-point.ts';

/** One class of a result, with its (calibrated) probability. */
export interface Prediction {
  code: ClassCode;
  name: string;
  group: LesionGroup;
  probability: number;
}

/** Rows of probabilities (CLASS_CODES order) -> predictions sorted from most to least likely. */
export function toPredictions(probabilities: ArrayLike<number>): Prediction[] {
  return CLASSES.map((c, i) => ({ code: c.code, name: c.name, group: c.group, probability: probabilities[i] })).sort(
    (a, b) => b.probability - a.probability,
  );
}

export interface LesionResult {
  /** All seven classes, most likely first; probabilities sum to 1. */
  predictions: Prediction[];
  top: ClassCode;
  /** Sum of the probabilities of the types that need a doctor: cancer and pre-cancer (akiec, bcc, mel). */
  concerningProbability: number;
  /** True when P(mel) reaches the model's melanoma operating point, even if another class is more likely. */
  melanomaAlert: boolean;
  /** That threshold, or null when the model has none. */
  melanomaThreshold: number | null;
}

/** Calibrated probabilities in CLASS_CODES order -> the result every surface shows. */
export function lesionResult(probabilities: ArrayLike<number>, melanomaThreshold: number | null): LesionResult {
  if (probabilities.length !== CLASS_CODES.length) {
    throw new Error(`Expected ${CLASS_CODES.length} class probabilities, got ${probabilities.length}.`);
  }
  const predictions = toPredictions(probabilities);
  return {
    predictions,
    top: predictions[0].code,
    concerningProbability: predictions.filter((p) => isConcerning(p.group)).reduce((sum, p) => sum + p.probability, 0),
    melanomaAlert: melanomaAlert(probabilities, melanomaThreshold),
    melanomaThreshold,
  };
}
