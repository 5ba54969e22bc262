/**
 * "Does this look like a dermoscopic image of a skin lesion?" A lesion classifier answers every image
 * with a lesion class, so DermLens asks this first. The gate is a logistic regression on the network's
 * pooled last-conv features (the 1280 numbers its 7-class head reads), trained with outlier exposure:
 * HAM10000 training images against real non-dermoscopic images (scripts/build-ood-set.ts), by
 * `dermlens fit-gate`. It is a second output of the same model, so it costs one 1280x1 dot product on
 * top of the classification's forward pass. Its threshold is chosen on held-out images and stored in
 * the model's metadata (dermoscopyThreshold), like the melanoma operating point.
 */
import { tf } from './tf.ts';

/** Name of the gate's layer: Dense(1, sigmoid) on the global-average-pooled features. */
export const GATE_LAYER = 'dermoscopy_gate';

/** Index of the gate output in model.outputs, or null for a model without one. */
export function gateOutputIndex(model: tf.LayersModel): number | null {
  const i = model.outputs.findIndex((o) => o.sourceLayer.name === GATE_LAYER);
  return i < 0 ? null : i;
}

/** The global-average-pooling layer whose output both heads read. */
export function pooledFeaturesLayer(model: tf.LayersModel): tf.layers.Layer {
  const pools = model.layers.filter((l) => l.getClassName() === 'GlobalAveragePooling2D');
  if (pools.length !== 1)
    throw new Error(`the gate needs a model with one global-average-pooling layer; ${model.name} has ${pools.length}`);
  return pools[0];
}

/** A model computing the pooled features (shares its layers with `model`). */
export function featureModel(model: tf.LayersModel): tf.LayersModel {
  return tf.model({ inputs: model.inputs, outputs: pooledFeaturesLayer(model).output as tf.SymbolicTensor });
}

/**
 * `model` with the gate as a second output: [class probabilities, P(dermoscopic)]. The new model
 * shares every layer with `model` (dispose one of them only). A model that already has a gate gets
 * its gate replaced.
 */
export function attachGate(model: tf.LayersModel, kernel: Float32Array, bias: number): tf.LayersModel {
  const pooled = pooledFeaturesLayer(model).output as tf.SymbolicTensor;
  const features = pooled.shape[1]!;
  if (kernel.length !== features) throw new Error(`gate kernel has ${kernel.length} weights; the pooled features have ${features}`);
  const gate = tf.layers.dense({ name: GATE_LAYER, units: 1, activation: 'sigmoid' });
  const score = gate.apply(pooled) as tf.SymbolicTensor;
  const weights = [tf.tensor2d(kernel, [features, 1]), tf.tensor1d([bias])];
  gate.setWeights(weights); // the variables take their own reference to the data
  tf.dispose(weights);
  const withGate = tf.model({ inputs: model.inputs, outputs: [model.outputs[0], score], name: model.name });
  return withGate;
}

/** The verdict shown next to a result: the score, and whether it clears the shipped threshold. */
export interface DermoscopyVerdict {
  /** P(dermoscopic image of a skin lesion) from the gate. */
  score: number;
  /** The model's threshold (chosen on held-out images): at or above it the image is in scope. */
  threshold: number;
  dermoscopic: boolean;
}

/** How many images a threshold flags as not dermoscopic (score below it), of how many. */
export interface FlagRate {
  n: number;
  flagged: number;
  rate: number;
}

export function flagRate(scores: ArrayLike<number>, threshold: number): FlagRate {
  let flagged = 0;
  for (let i = 0; i < scores.length; i++) if (scores[i] < threshold) flagged++;
  return { n: scores.length, flagged, rate: scores.length ? flagged / scores.length : 0 };
}

export function dermoscopyVerdict(score: number, threshold: number): DermoscopyVerdict {
  return { score, threshold, dermoscopic: score >= threshold };
}
