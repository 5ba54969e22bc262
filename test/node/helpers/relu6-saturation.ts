// MobileNetV2 weights that make ReLU6 saturate at 6 as well as clip at 0, for the tests that compare a native
// ReLU6 gradient with the stock one: a gradient that ignored the upper bound (ReluGrad) only fails where
// units reach 6, and with the freshly initialised weights none do.
import { tf } from '../../../core/tf.ts';

/**
 * Kernels doubled, and those of blocks 0-1 ten-fold (scaling every layer that much blows the activations
 * up until float32 rounding alone differs by 1e-3). In place; the caller asserts the effect with fractionAt.
 */
export function scaleForSaturation(model: tf.LayersModel): void {
  for (const layer of model.layers) {
    const factor = /^block0[01]_/.test(layer.name) ? 10 : 2;
    const scaled = layer.getWeights().map((w) => (w.rank === 4 ? tf.mul(w, factor) : w.clone()));
    layer.setWeights(scaled);
    tf.dispose(scaled);
  }
}

/** The share of a layer's training-mode outputs on x that equal `value` exactly (6: saturated; 0: clipped). */
export function fractionAt(model: tf.LayersModel, layerName: string, x: tf.Tensor, value: number): number {
  const probe = tf.model({ inputs: model.inputs, outputs: model.getLayer(layerName).output as tf.SymbolicTensor });
  return tf.tidy(() => tf.mean(tf.cast(tf.equal(probe.apply(x, { training: true }) as tf.Tensor, value), 'float32')).dataSync()[0]);
}
