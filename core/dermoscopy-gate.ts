/**
 * "What kind of image is this?" A lesion classifier answers every image with a lesion class, so DermLens
 * asks this first. The gate reads the network's pooled last-conv features (the 1280 numbers its 7-class
 * head reads) and, in a MobileNetV2, the global-average-pooled outputs of three intermediate blocks beside
 * them (GATE_BLOCK_TAPS); it is fitted by `dermlens fit-gate` with outlier exposure. It is a second output
 * of the same model, so it costs three small poolings and one small matrix product on top of the
 * classification's forward pass.
 *
 * Two generations of gate load:
 * - the three-way gate (IMAGE_KIND_LAYER): a softmax over dermoscopic / clinical / other, i.e. a
 *   multinomial logistic regression. `clinical` is a photo of skin taken without a dermatoscope (a phone
 *   or webcam photo of a spot), `other` anything that is not skin. A softmax rather than two separate
 *   logistic units because the three kinds are exclusive and one set of probabilities that sums to 1
 *   gives both thresholds a common scale.
 * - the older two-way gate (GATE_LAYER): one sigmoid unit, P(dermoscopic). It reads as the probabilities
 *   [s, 0, 1 - s], so it can only say dermoscopic or other.
 * Both thresholds are chosen on held-out images and stored in the model's metadata (dermoscopyThreshold on
 * P(dermoscopic); clinicalThreshold on P(clinical) / (P(clinical) + P(other)) for an image that is not
 * dermoscopic), like the melanoma operating point.
 */
import { tf } from './tf.ts';
import { MNV2_LAYER } from './mobilenet-v2.ts';
import { ensembleMemberPrefix, isMergedEnsemble } from './ensemble-layers.ts';

/** Name of the two-way gate's layer: Dense(1, sigmoid) on the pooled last-conv features (models fitted before the three-way gate). */
export const GATE_LAYER = 'dermoscopy_gate';
/** Name of the three-way gate's layer: Dense(3, softmax) on the gate features (featureModel), in IMAGE_KINDS order. */
export const IMAGE_KIND_LAYER = 'image_kind';

/** What the gate says an image is, in the order of the three-way gate's outputs. */
export const IMAGE_KINDS = ['dermoscopic', 'clinical', 'other'] as const;
export type ImageKind = (typeof IMAGE_KINDS)[number];

/** Index of the gate output (either generation) in model.outputs, or null for a model without one. */
export function gateOutputIndex(model: tf.LayersModel): number | null {
  const i = model.outputs.findIndex((o) => o.sourceLayer.name === GATE_LAYER || o.sourceLayer.name === IMAGE_KIND_LAYER);
  return i < 0 ? null : i;
}

/** The index of the class probabilities among the model's outputs: 0, or 1 when the gate came first. */
export const classOutputIndex = (model: tf.LayersModel): number => (gateOutputIndex(model) === 0 ? 1 : 0);

/** 3 for the three-way gate, 1 for the two-way gate, null without a gate. */
export function gateUnits(model: tf.LayersModel): 1 | 3 | null {
  const i = gateOutputIndex(model);
  return i === null ? null : model.outputs[i].sourceLayer.name === IMAGE_KIND_LAYER ? 3 : 1;
}

/**
 * A gate output [n, units] as kind probabilities [n, 3] (IMAGE_KINDS order): the three-way gate's as they
 * are, the two-way gate's P(dermoscopic) s as [s, 0, 1 - s]. Call inside tf.tidy.
 */
export function kindProbabilities(gate: tf.Tensor): tf.Tensor2D {
  const rows = tf.reshape(gate, [gate.shape[0]!, -1]) as tf.Tensor2D;
  if (rows.shape[1] === 3) return rows;
  if (rows.shape[1] !== 1) throw new Error(`a gate output has 1 or 3 units, not ${rows.shape[1]}`);
  return tf.concat([rows, tf.zerosLike(rows), tf.sub(1, rows)], 1) as tf.Tensor2D;
}

/**
 * The MobileNetV2 blocks whose pooled outputs the gate reads beside the last pool: the last residual add of
 * the 32-, 64- and 96-channel stages (32 + 64 + 96 more features). Why: what tells a phone photo from a
 * dermoscopic picture of the same lesion (texture, glare, light) is seen by the earlier blocks and averaged
 * away by the class-oriented last layer. Measured on r5-mix05 (research/README.md, tenth round): held-out
 * patients' phone photos flagged 61% with the last pool alone, 87-93% with these blocks, at the same share
 * of HAM10000 images flagged; earlier blocks (2, 5) turned away more dermoscopic images of other clinics.
 */
export const GATE_BLOCK_TAPS = [5, 9, 12].map((k) => MNV2_LAYER.block(k, 'add'));

/** The gate's own pooling layers are named with this prefix (so they are never taken for the head's pool). */
const GATE_POOL_PREFIX = `${IMAGE_KIND_LAYER}_pool_`;

/**
 * The prefix of the network the gate reads: in a merged ensemble the first member's layers (one network's
 * features say what kind of image it is as well as the average of several would, at no extra cost), else the
 * whole model's ('').
 */
function gateNetworkPrefix(model: tf.LayersModel): string {
  return isMergedEnsemble(model) ? ensembleMemberPrefix(0) : '';
}

/** The global-average-pooling layer the classification head reads (the gate's own poolings aside; an ensemble's first member's). */
export function pooledFeaturesLayer(model: tf.LayersModel): tf.layers.Layer {
  const prefix = gateNetworkPrefix(model);
  const pools = model.layers.filter(
    (l) => l.getClassName() === 'GlobalAveragePooling2D' && !l.name.startsWith(GATE_POOL_PREFIX) && l.name.startsWith(prefix),
  );
  if (pools.length !== 1)
    throw new Error(`the gate needs a model with one global-average-pooling layer; ${model.name} has ${pools.length}`);
  return pools[0];
}

/** The intermediate layers the gate pools in `model`: GATE_BLOCK_TAPS when the model (an ensemble's first member) has all of them (a MobileNetV2), else none. */
export function gateTapLayers(model: tf.LayersModel): tf.layers.Layer[] {
  const names = new Set(model.layers.map((l) => l.name));
  const prefix = gateNetworkPrefix(model);
  const taps = GATE_BLOCK_TAPS.map((n) => prefix + n);
  return taps.every((n) => names.has(n)) ? taps.map((n) => model.getLayer(n)) : [];
}

/** The layers the gate reads, in the order of its features: the tap layers (gateTapLayers), then the head's pooling layer. */
export function gateFeatureLayers(model: tf.LayersModel): tf.layers.Layer[] {
  return [...gateTapLayers(model), pooledFeaturesLayer(model)];
}

/**
 * The gate's input as a symbolic tensor of `model`'s graph: each tap layer's output average-pooled, then the
 * head's pooled features, concatenated in that order; the head's pooled features alone for a model without taps.
 * New (weightless) pooling layers each call: a feature model and a gated model each get their own.
 */
function gateFeatures(model: tf.LayersModel): tf.SymbolicTensor {
  const layers = gateFeatureLayers(model);
  const last = layers.at(-1)!.output as tf.SymbolicTensor;
  if (layers.length === 1) return last;
  const pooled = layers
    .slice(0, -1)
    .map(
      (l) =>
        tf.layers
          .globalAveragePooling2d({ name: `${GATE_POOL_PREFIX}${l.name}` })
          .apply(l.output as tf.SymbolicTensor) as tf.SymbolicTensor,
    );
  return tf.layers.concatenate({ name: `${IMAGE_KIND_LAYER}_features` }).apply([...pooled, last]) as tf.SymbolicTensor;
}

/** A model computing the gate's features [n, features] (shares its layers with `model`). */
export function featureModel(model: tf.LayersModel): tf.LayersModel {
  return tf.model({ inputs: model.inputs, outputs: gateFeatures(model) });
}

/**
 * `model` with the gate as a second output: [class probabilities, gate]. A `bias` of one number gives the
 * two-way gate (kernel [features], sigmoid); a bias of three numbers the three-way gate (kernel
 * [features, 3] row-major, softmax). The new model shares every layer with `model` (dispose one of them
 * only); `model` itself must be the classifier without a gate.
 */
export function attachGate(model: tf.LayersModel, kernel: Float32Array, bias: number | ArrayLike<number>): tf.LayersModel {
  const pooled = gateFeatures(model);
  const features = pooled.shape[1]!;
  const biases = typeof bias === 'number' ? [bias] : Array.from(bias);
  const units = biases.length;
  if (units !== 1 && units !== IMAGE_KINDS.length) throw new Error(`a gate has 1 or ${IMAGE_KINDS.length} units, not ${units}`);
  if (kernel.length !== features * units) {
    throw new Error(`gate kernel has ${kernel.length} weights; ${features} gate features x ${units} units need ${features * units}`);
  }
  const gate =
    units === 1
      ? tf.layers.dense({ name: GATE_LAYER, units: 1, activation: 'sigmoid' })
      : tf.layers.dense({ name: IMAGE_KIND_LAYER, units, activation: 'softmax' });
  const score = gate.apply(pooled) as tf.SymbolicTensor;
  const weights = [tf.tensor2d(kernel, [features, units]), tf.tensor1d(biases)];
  gate.setWeights(weights); // the variables take their own reference to the data
  tf.dispose(weights);
  const withGate = tf.model({ inputs: model.inputs, outputs: [model.outputs[0], score], name: model.name });
  return withGate;
}

/** The verdict shown next to a result: the scores, the thresholds, and what they make of the image. */
export interface DermoscopyVerdict {
  /** P(dermoscopic image of a skin lesion) from the gate. */
  score: number;
  /** The model's threshold (chosen on held-out images): at or above it the image is in scope. */
  threshold: number;
  /** True only for kind 'dermoscopic'. */
  dermoscopic: boolean;
  kind: ImageKind;
  /** P(clinical) / (P(clinical) + P(other)): for an image that is not dermoscopic, how much more skin photo than not skin. Null for the two-way gate. */
  clinicalScore: number | null;
  /** At or above it a non-dermoscopic image is named 'clinical'; null for the two-way gate. */
  clinicalThreshold: number | null;
}

/** The thresholds a model's metadata gives its gate (clinical: null for the two-way gate). */
export interface GateThresholds {
  dermoscopy: number;
  clinical: number | null;
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

/** P(clinical) / (P(clinical) + P(other)) of kind probabilities (0 when both are 0, as for a dermoscopic two-way score of 1). */
export function clinicalShare(p: ArrayLike<number>): number {
  const rest = p[1] + p[2];
  return rest > 0 ? p[1] / rest : 0;
}

/** Kind probabilities (IMAGE_KINDS order) and the model's thresholds -> the verdict. */
export function imageKindVerdict(p: ArrayLike<number>, thresholds: GateThresholds): DermoscopyVerdict {
  const score = p[0];
  const dermoscopic = score >= thresholds.dermoscopy;
  const clinicalScore = thresholds.clinical === null ? null : clinicalShare(p);
  const kind: ImageKind = dermoscopic
    ? 'dermoscopic'
    : clinicalScore !== null && clinicalScore >= thresholds.clinical!
      ? 'clinical'
      : 'other';
  return { score, threshold: thresholds.dermoscopy, dermoscopic, kind, clinicalScore, clinicalThreshold: thresholds.clinical };
}

/** How many images of each kind, of how many. */
export type KindCounts = Record<ImageKind, number> & { n: number };

export function countKinds(kinds: readonly ImageKind[]): KindCounts {
  const counts: KindCounts = { n: kinds.length, dermoscopic: 0, clinical: 0, other: 0 };
  for (const k of kinds) counts[k]++;
  return counts;
}
