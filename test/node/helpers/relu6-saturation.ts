// MobileNetV2 weights that make ReLU6 saturate at 6 as well as clip at 0, for the tests that compare a native
// ReLU6 gradient with the stock one: a gradient that ignored the upper bound (ReluGrad) only fails where
// units reach 6, and with the freshly initialised weights none do.
import assert from 'node:assert/strict';
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

/** After scaleForSaturation: more than 3% of block 1's expand and depthwise outputs on x are at 6, and more than 5% at 0. */
export function assertBlock1Saturates(model: tf.LayersModel, x: tf.Tensor): void {
  for (const layer of ['block01_expand', 'block01_depthwise']) {
    assert.ok(fractionAt(model, layer, x, 6) > 0.03, `too few ${layer} units saturate at 6`);
    assert.ok(fractionAt(model, layer, x, 0) > 0.05, `too few ${layer} units are clipped at 0`);
  }
}
