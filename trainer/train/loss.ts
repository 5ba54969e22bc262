// The training loss: categorical cross-entropy on the model's softmax output (as Keras computes it,
// probabilities clipped to [1e-7, 1 - 1e-7]), with optional label smoothing and per-sample weights.
import { tf } from '../../core/tf.ts';
import { PROB_EPSILON } from '../evaluate/calibrate.ts';

export interface LossOptions {
  /** 0 = off. Targets become y * (1 - s) + s / K. */
  labelSmoothing?: number;
  /** Per-class weights (length K); each sample's loss is scaled by the weight of its true class. */
  classWeights?: readonly number[] | null;
}

/**
 * Mean over the batch of w(class_i) * CE(target_i, probs_i). With class weights the mean is over the
 * batch size (Keras' class_weight semantics), so weights that average 1 over the training set keep
 * the loss scale, and the learning rate, comparable with unweighted training.
 */
export function weightedCrossEntropy(
  yTrue: tf.Tensor2D,
  probs: tf.Tensor2D,
  { labelSmoothing = 0, classWeights = null }: LossOptions = {},
): tf.Scalar {
  return tf.tidy(() => {
    const k = yTrue.shape[1];
    const target = labelSmoothing > 0 ? tf.add(tf.mul(yTrue, 1 - labelSmoothing), labelSmoothing / k) : yTrue;
    const logP = tf.log(tf.clipByValue(probs, PROB_EPSILON, 1 - PROB_EPSILON));
    let perSample = tf.neg(tf.sum(tf.mul(target, logP), 1));
    if (classWeights) {
      if (classWeights.length !== k) throw new Error(`weightedCrossEntropy: ${classWeights.length} class weights for ${k} classes`);
      // The true class of a (possibly smoothed) one-hot row is its arg-max; weight = y . w.
      const w = tf.sum(tf.mul(yTrue, tf.tensor1d(classWeights as number[])), 1);
      perSample = tf.mul(perSample, w);
    }
    return tf.mean(perSample) as tf.Scalar;
  });
}

/**
 * "Balanced" class weights n / (K_present * n_c): each present class contributes equally to the loss
 * and the weights average 1 over the training samples. Absent classes get 0 (they never occur).
 */
export function balancedClassWeights(labels: readonly number[], numClasses: number, sampleRates?: readonly number[]): number[] {
  // With --source-rate, a sample counts as often as it is expected to be drawn per epoch.
  const counts = new Array<number>(numClasses).fill(0);
  labels.forEach((label, i) => (counts[label] += sampleRates ? sampleRates[i] : 1));
  const total = counts.reduce((a, b) => a + b, 0);
  const present = counts.filter((c) => c > 0).length;
  return counts.map((c) => (c > 0 ? total / (present * c) : 0));
}
