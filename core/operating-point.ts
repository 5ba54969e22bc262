// The melanoma operating point, kept free of TensorFlow.js so the extension's light bundles (popup,
// page overlay) can use it without pulling in tfjs.
import { CLASS_CODES } from './labels.ts';

const MEL = CLASS_CODES.indexOf('mel');

/** Whether calibrated probabilities (CLASS_CODES order) reach the model's melanoma alert threshold. */
export function melanomaAlert(probabilities: ArrayLike<number>, threshold: number | null): boolean {
  return threshold !== null && probabilities[MEL] >= threshold;
}
