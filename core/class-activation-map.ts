// Class activation maps ("where it looked"; Zhou et al. 2016, Learning Deep Features for Discriminative
// Localization), shared by the Node CLI (`dermlens explain`) and the extension's offscreen document.
//
// For a head  features [h,w,C] -> GlobalAveragePooling2D -> (Dropout) -> Dense(softmax)  the logit of
// class k is  z_k = mean_ij(F_ij) . W_k + b_k = mean_ij(F_ij . W_k + b_k),  so the map
// M_k(i,j) = F_ij . W_k + b_k  splits the logit exactly over the feature grid: its mean IS the logit.
// No gradients, no approximation. It works for any model with that head (compact, mobilenetv2): the
// features are found generically as the input of the GlobalAveragePooling2D layer.
//
// The map explains the same computation the classifier runs: one pass of the same (BatchNorm-folded)
// model returns both the features and the probabilities, with the classifier's flip averaging (the
// mirrored pass's map is mirrored back and averaged) and temperature (core/classifier.ts calibrate()).
import { tf } from './tf.ts';
import { CLASS_CODES } from './labels.ts';
import { mapOfClass, type ActivationMap } from './activation-map.ts';
import { classOutputIndex, gateOutputIndex, kindProbabilities } from './dermoscopy-gate.ts';
import { calibrate, type Classifier, type InferenceOptions } from './classifier.ts';
import { inputCrop, preprocess, type RgbaImage } from './preprocess.ts';

/** Layers that are the identity at inference, allowed between the pooling and the classifier. */
const INFERENCE_IDENTITY = new Set(['Dropout', 'SpatialDropout1D', 'SpatialDropout2D', 'GaussianNoise', 'GaussianDropout', 'AlphaDropout']);

export class UnsupportedModelError extends Error {
  override name = 'UnsupportedModelError';
}

/** One network's part of the maps: the features it pools and its classifier's weights. */
export interface CamMember {
  /** Name of the symbolic tensor the GlobalAveragePooling2D layer reads: the last conv features. */
  featuresName: string;
  /** The Dense classifier's kernel [C, classes] and bias [classes] (the model's own variables, not copies). */
  kernel: tf.Tensor2D;
  bias: tf.Tensor1D | null;
}

/** Where the maps come from in a model: one member per network (several in a merged ensemble). */
export interface CamHead {
  members: CamMember[];
  outputName: string;
  /** The dermoscopy gate's output (core/dermoscopy-gate.ts), read in the same pass; null without a gate. */
  gateName: string | null;
}

const layerBefore = (layer: tf.layers.Layer): tf.layers.Layer | undefined => {
  const nodes = layer.inboundNodes;
  return nodes.length === 1 && nodes[0].inboundLayers.length === 1 ? nodes[0].inboundLayers[0] : undefined;
};

/** The map source of a network ending in `dense`, or UnsupportedModelError saying why. */
function camMember(dense: tf.layers.Layer, modelName: string): CamMember {
  const config = dense.getConfig() as { activation?: string };
  if (dense.getClassName() !== 'Dense' || config.activation !== 'softmax') {
    throw new UnsupportedModelError(
      `"Where it looked" needs a model that ends in a softmax Dense layer; ${modelName} ends in ${dense.getClassName()}.`,
    );
  }
  let layer = layerBefore(dense);
  while (layer && INFERENCE_IDENTITY.has(layer.getClassName())) layer = layerBefore(layer);
  if (!layer || layer.getClassName() !== 'GlobalAveragePooling2D') {
    throw new UnsupportedModelError(
      `"Where it looked" needs global average pooling before the classifier; ${modelName} has ${layer?.getClassName() ?? 'a branching graph'} there.`,
    );
  }
  if ((layer.getConfig() as { dataFormat?: string }).dataFormat === 'channelsFirst') {
    throw new UnsupportedModelError('"Where it looked" needs channels-last features.');
  }
  const [kernel, bias] = dense.getWeights() as [tf.Tensor2D, tf.Tensor1D | undefined];
  return { featuresName: (layer.input as tf.SymbolicTensor).name, kernel, bias: bias ?? null };
}

/**
 * Finds the class-activation head of `model`, or throws UnsupportedModelError saying why (a Flatten
 * head such as the seed model's has no exact map). A merged ensemble (an Average of networks' softmax
 * outputs, trainer/model/merge.ts) gets one member per network: its map is the members' maps averaged,
 * which splits the members' mean logit over the grid (their probabilities are what the ensemble averages,
 * so the map explains the vote of each network equally rather than the averaged probability exactly).
 */
export function findCamHead(model: tf.LayersModel): CamHead {
  // With the dermoscopy gate the model has two outputs; the class probabilities are the other one.
  const output = model.outputs[classOutputIndex(model)];
  const last = output.sourceLayer as tf.layers.Layer;
  const networks = last.getClassName() === 'Average' && last.inboundNodes.length === 1 ? last.inboundNodes[0].inboundLayers : [last];
  const members = networks.map((dense) => camMember(dense, model.name));
  const gate = gateOutputIndex(model);
  return { members, outputName: output.name, gateName: gate === null ? null : model.outputs[gate].name };
}

/** The maps of one image, as tensors (the caller disposes them). */
export interface CamTensors {
  /** Calibrated probabilities [classes], exactly as the classifier computes them. */
  probabilities: tf.Tensor1D;
  /** [h, w, classes]: each feature cell's share of each class logit (mean over cells = the logit). */
  maps: tf.Tensor3D;
  /** The image's (not its mirror's) kind probabilities (dermoscopic, clinical, other) when the model has the gate: [3]. */
  kinds: tf.Tensor1D | null;
}

/**
 * One preprocessed image [1, s, s, 3] -> its calibrated probabilities and the class activation maps of
 * every class, from one pass of `model` (two images in one batch with flip averaging).
 */
export function classActivationMaps(model: tf.LayersModel, head: CamHead, x: tf.Tensor4D, options: InferenceOptions): CamTensors {
  if (x.shape[0] !== 1) throw new Error(`classActivationMaps takes one image, got a batch of ${x.shape[0]}.`);
  const tensors = tf.tidy(() => {
    const flip = options.tta === 'flip';
    const batch = flip ? tf.concat([x, tf.reverse(x, 2)]) : x;
    const names = head.members.map((m) => m.featuresName);
    const outputs = model.execute(batch, [...names, head.outputName, ...(head.gateName ? [head.gateName] : [])]) as tf.Tensor[];
    const [p, gate] = outputs.slice(names.length) as [tf.Tensor2D, tf.Tensor2D?];
    // Each network's features . its classifier's weights, then the networks' maps averaged (one network: its own).
    const memberGrids = head.members.map((member, i) => {
      const features = outputs[i] as tf.Tensor4D;
      const [n, h, w, c] = features.shape;
      let maps = tf.matMul(tf.reshape(features, [n * h * w, c]), member.kernel);
      if (member.bias) maps = tf.add(maps, member.bias);
      return tf.reshape(maps, [n, h, w, -1]) as tf.Tensor4D;
    });
    let grid = memberGrids.length === 1 ? memberGrids[0] : (tf.div(tf.addN(memberGrids), memberGrids.length) as tf.Tensor4D);
    // The mirrored image's map, mirrored back, explains the mirrored pass the probabilities average.
    if (flip) grid = tf.div(tf.add(tf.slice(grid, [0], [1]), tf.reverse(tf.slice(grid, [1], [1]), 2)), 2);
    const probabilities = calibrate(tf.slice(p, [0], [1]), flip ? tf.slice(p, [1], [1]) : null, options.temperature);
    const result: Record<string, tf.Tensor> = { probabilities: tf.squeeze(probabilities, [0]), maps: tf.squeeze(grid, [0]) };
    if (gate) result.kinds = tf.reshape(kindProbabilities(tf.slice(gate, [0], [1])), [-1]);
    return result;
  }) as unknown as Omit<CamTensors, 'kinds'> & { kinds?: tf.Tensor1D };
  return { ...tensors, kinds: tensors.kinds ?? null };
}

// The plain-number map (no tfjs) lives in core/activation-map.ts, so the light bundles that draw it skip tfjs.
export { mapOfClass, normalizedMap, type ActivationMap } from './activation-map.ts';

/** What explaining one image gives: the classifier's answer and the map of its top class. */
export interface Explanation {
  /** Calibrated probabilities in CLASS_CODES order: the same numbers Classifier.classify gives. */
  probabilities: Float32Array;
  /** The map of the most likely class. */
  map: ActivationMap;
  /**
   * The part of the image the map covers, in image pixels (core/preprocess.ts inputCrop): for a square
   * model the centre crop of at most 4:3, squeezed into the square input; for a non-square W x H model
   * the centre crop of W:H. The map's grid is stretched over this rectangle.
   */
  crop: { x: number; y: number; width: number; height: number };
  /** Kind probabilities (dermoscopic, clinical, other) from the same pass when the model has the gate, else null. */
  kinds: Float32Array | null;
}

/**
 * Classifies and explains an image with `classifier`'s own network, preprocessing and calibration.
 * Throws UnsupportedModelError for a model without a global-average-pooling head. Leaks no tensors.
 */
export async function explainImage(classifier: Classifier, image: RgbaImage): Promise<Explanation> {
  return explainInput(classifier, preprocess(image, classifier.inputShape), inputCrop(image.width, image.height, classifier.inputShape));
}

/** explainImage for an input already preprocessed (the offscreen document times the two steps apart). */
export async function explainInput(classifier: Classifier, input: Float32Array, crop: Explanation['crop']): Promise<Explanation> {
  const model = classifier.network;
  const head = headOf(model);
  const { width, height } = classifier.inputShape;
  const x = tf.tensor4d(input, [1, height, width, 3]);
  let tensors: CamTensors;
  try {
    tensors = classActivationMaps(model, head, x, classifier.metadata);
  } finally {
    x.dispose();
  }
  const { probabilities, maps, kinds } = tensors;
  try {
    const [p, m, d] = await Promise.all([
      probabilities.data() as Promise<Float32Array>,
      maps.data() as Promise<Float32Array>,
      kinds?.data() as Promise<Float32Array> | undefined,
    ]);
    let top = 0;
    p.forEach((v, k) => {
      if (v > p[top]) top = k;
    });
    return { probabilities: p, map: mapOfClass(m, maps.shape, CLASS_CODES[top]), crop, kinds: d ?? null };
  } finally {
    tf.dispose([probabilities, maps, kinds ?? []]);
  }
}

/** The head of each model, found once: the walk is cheap, but explain runs on every classification. */
const heads = new WeakMap<tf.LayersModel, CamHead>();
function headOf(model: tf.LayersModel): CamHead {
  let head = heads.get(model);
  if (!head) heads.set(model, (head = findCamHead(model)));
  return head;
}

/** Whether a classifier's model can be explained (has a global-average-pooling head). */
export function canExplain(classifier: Classifier): boolean {
  try {
    headOf(classifier.network);
    return true;
  } catch (error) {
    if (error instanceof UnsupportedModelError) return false;
    throw error;
  }
}
