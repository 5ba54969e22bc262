// An exponential moving average (EMA, Polyak averaging) of every model weight, kept in a second copy of
// the model. Why: with balanced sampling and strong augmentation, validation balanced accuracy swings by
// about ±0.03 from one epoch to the next, so "best epoch" picks a lucky snapshot as much as a good one.
// The average over the last few thousand steps is a smoother, usually slightly better model, and costs
// one multiply-add per weight per step. BatchNorm moving statistics are averaged too (they are weights
// of the model, and the averaged convs need matching statistics), as timm's ModelEmaV2 does.
import { tf } from '../../core/tf.ts';

/**
 * The decay used at optimizer step `step` (0-based): the configured decay, but lower early on so the
 * average is not dominated by the random initial weights (TensorFlow's ExponentialMovingAverage
 * num_updates rule): min(decay, (1 + step) / (10 + step)).
 */
export function emaDecayAt(decay: number, step: number): number {
  return Math.min(decay, (1 + step) / (10 + step));
}

/** Sets target's weights to the same values as source's (both built from the same architecture). */
export function copyWeights(target: tf.LayersModel, source: tf.LayersModel): void {
  target.setWeights(source.getWeights());
}

/** target <- decay * target + (1 - decay) * source, for every weight, in place. */
export function updateAverage(target: tf.LayersModel, source: tf.LayersModel, decay: number): void {
  const sourceWeights = source.weights;
  if (sourceWeights.length !== target.weights.length) throw new Error('EMA model and trained model have different weights');
  tf.tidy(() => {
    target.weights.forEach((w, i) => {
      const averaged = w.read() as tf.Variable;
      averaged.assign(tf.add(tf.mul(averaged, decay), tf.mul(sourceWeights[i].read(), 1 - decay)));
    });
  });
}
