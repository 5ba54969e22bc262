/**
 * MobileNetV2 1.0 (Sandler et al. 2018) built in code at any input size, with a 7-class head, and the
 * copy of an imported ImageNet backbone's weights into it (trainer: `dermlens import-backbone`).
 *
 * The published TFLite builds have BatchNorm folded into every convolution (conv + bias), so this
 * network has none: each conv carries its bias and a ReLU6 where the original had BN + ReLU6. That is
 * the original network with its normalisation frozen at the ImageNet statistics, and fine-tuning it is
 * fine-tuning with frozen BatchNorm (the usual choice for small batches; see research/README.md for
 * the measured decision). The input rescaling the backbone was trained with is the first layer, so
 * core/preprocess.ts' [0, 1] pixels are its input like every other DermLens model.
 */
import { tf } from './tf.ts';
import { NUM_CLASSES } from './labels.ts';
import { inputShape, type InputSize } from './preprocess.ts';

export interface MobileNetV2Options {
  /** A side for a square input, or width and height. */
  inputSize: InputSize;
  seed?: number;
  /** x -> x * scale + offset before the stem; default maps [0, 1] to [-1, 1]. */
  rescaling?: { scale: number; offset: number };
  /** Dropout before the 7-class classifier. */
  dropout?: number;
  /**
   * 'folded' (default): conv + bias, as the published backbone. 'batchnorm': a BatchNormalization layer
   * re-added after every conv, before its ReLU6 (named `<conv>_bn`), for the measured comparison in
   * research/README.md; initialiseBatchNormFromData makes it start as the identity on the data.
   */
  normalization?: 'folded' | 'batchnorm';
}

/** Inverted-residual stages: expansion t, output channels c, repeats n, first stride s (the paper's table 2). */
export const MOBILENET_V2_STAGES: ReadonlyArray<readonly [t: number, c: number, n: number, s: number]> = [
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
];
/** Number of inverted-residual blocks (0..16); `--freeze-until` counts in these. */
export const MOBILENET_V2_BLOCKS = MOBILENET_V2_STAGES.reduce((n, [, , repeats]) => n + repeats, 0);
/** Channels of the last conv, i.e. of the pooled feature the heads read. */
export const MOBILENET_V2_FEATURES = 1280;

/** Layer names, so the trainer can freeze by block and the explainer can find the last conv. */
export const MNV2_LAYER = {
  rescaling: 'input_rescaling',
  stem: 'stem_conv',
  block: (k: number, part: 'expand' | 'depthwise' | 'project' | 'add') => `block${String(k).padStart(2, '0')}_${part}`,
  lastConv: 'features_conv',
  pool: 'global_pool',
  dropout: 'head_dropout',
  classifier: 'classifier',
} as const;

/** The block index a backbone layer belongs to: -1 for the stem, MOBILENET_V2_BLOCKS for the last conv, null for the head. */
export function mobilenetV2BlockOf(layerName: string): number | null {
  // A re-added BatchNorm (and its ReLU6) belongs where its conv does.
  const conv = layerName.replace(/_(bn|relu6)$/, '');
  if (conv === MNV2_LAYER.stem || conv === MNV2_LAYER.rescaling) return -1;
  if (conv === MNV2_LAYER.lastConv) return MOBILENET_V2_BLOCKS;
  const m = /^block(\d\d)_/.exec(conv);
  return m ? Number(m[1]) : null;
}

export function buildMobileNetV2({
  inputSize,
  seed = 42,
  rescaling = { scale: 2, offset: -1 },
  dropout = 0.2,
  normalization = 'folded',
}: MobileNetV2Options): tf.LayersModel {
  let nextSeed = seed;
  const he = () => tf.initializers.heNormal({ seed: nextSeed++ });
  const bn = normalization === 'batchnorm';
  /** The conv's activation, or with re-added BatchNorm: linear conv -> BatchNorm -> activation. */
  const finish = (layer: tf.layers.Layer, x: tf.SymbolicTensor, relu6: boolean) => {
    const y = layer.apply(x) as tf.SymbolicTensor;
    if (!bn) return y;
    const z = tf.layers.batchNormalization({ name: `${layer.name}_bn` }).apply(y) as tf.SymbolicTensor;
    return relu6 ? (tf.layers.reLU({ maxValue: 6, name: `${layer.name}_relu6` }).apply(z) as tf.SymbolicTensor) : z;
  };
  const conv = (x: tf.SymbolicTensor, name: string, filters: number, kernelSize: number, strides: number, relu6: boolean) =>
    finish(
      tf.layers.conv2d({
        name,
        filters,
        kernelSize,
        strides,
        padding: 'same',
        activation: relu6 && !bn ? 'relu6' : 'linear',
        kernelInitializer: he(),
      }),
      x,
      relu6,
    );

  const { width, height } = inputShape(inputSize);
  const input = tf.input({ shape: [height, width, 3], name: 'image' });
  let x = tf.layers.rescaling({ ...rescaling, name: MNV2_LAYER.rescaling }).apply(input) as tf.SymbolicTensor;
  x = conv(x, MNV2_LAYER.stem, 32, 3, 2, true);
  let channels = 32;
  let k = 0;
  for (const [t, c, n, s] of MOBILENET_V2_STAGES) {
    for (let i = 0; i < n; i++, k++) {
      const strides = i === 0 ? s : 1;
      let y = x;
      if (t !== 1) y = conv(y, MNV2_LAYER.block(k, 'expand'), channels * t, 1, 1, true);
      y = finish(
        tf.layers.depthwiseConv2d({
          name: MNV2_LAYER.block(k, 'depthwise'),
          kernelSize: 3,
          strides,
          padding: 'same',
          activation: bn ? 'linear' : 'relu6',
          depthwiseInitializer: he(),
        }),
        y,
        true,
      );
      y = conv(y, MNV2_LAYER.block(k, 'project'), c, 1, 1, false);
      x = strides === 1 && channels === c ? (tf.layers.add({ name: MNV2_LAYER.block(k, 'add') }).apply([x, y]) as tf.SymbolicTensor) : y;
      channels = c;
    }
  }
  x = conv(x, MNV2_LAYER.lastConv, MOBILENET_V2_FEATURES, 1, 1, true);
  x = tf.layers.globalAveragePooling2d({ name: MNV2_LAYER.pool }).apply(x) as tf.SymbolicTensor;
  if (dropout > 0) x = tf.layers.dropout({ name: MNV2_LAYER.dropout, rate: dropout, seed: seed + 300 }).apply(x) as tf.SymbolicTensor;
  const output = tf.layers
    .dense({
      name: MNV2_LAYER.classifier,
      units: NUM_CLASSES,
      activation: 'softmax',
      kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 301 }),
    })
    .apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: output, name: 'mobilenetv2' });
}

const isConvLike = (layer: tf.layers.Layer) => ['Conv2D', 'DepthwiseConv2D'].includes(layer.getClassName());

/**
 * Copies an imported backbone (core/tflite-to-layers.ts' model of a MobileNetV2 1.0 file) into a model
 * from buildMobileNetV2, layer by layer in graph order: the 52 convolutions of stem, blocks and last
 * conv, checked kind by kind and shape by shape (the input size may differ: conv weights do not depend
 * on it). The backbone's ImageNet classifier (the 1x1 conv to 1001 logits) is not copied. Throws a
 * message naming the first layer that does not match.
 */
export function copyMobileNetV2Backbone(target: tf.LayersModel, backbone: tf.LayersModel, source = 'the backbone'): number {
  const targets = target.layers.filter((l) => isConvLike(l) && mobilenetV2BlockOf(l.name) !== null);
  const sources = backbone.layers.filter(isConvLike).slice(0, targets.length);
  if (sources.length !== targets.length) {
    throw new Error(`${source} has ${sources.length} convolutions; MobileNetV2 1.0 has ${targets.length}. Import a MobileNetV2 1.0 file.`);
  }
  targets.forEach((t, i) => {
    const s = sources[i];
    const shapes = (l: tf.layers.Layer) =>
      l
        .getWeights()
        .map((w) => `[${w.shape}]`)
        .join(' ');
    if (t.getClassName() !== s.getClassName() || shapes(t) !== shapes(s)) {
      throw new Error(
        `${source} does not match MobileNetV2 1.0 at convolution ${i + 1} (${t.name}): it has ${s.getClassName()} ${shapes(s)}, expected ${t.getClassName()} ${shapes(t)}.`,
      );
    }
  });
  targets.forEach((t, i) => t.setWeights(sources[i].getWeights()));
  return targets.length;
}

/**
 * Data-dependent initialisation of re-added BatchNorm layers (normalization 'batchnorm'): each one's
 * moving mean/variance are set to its input's statistics on `x`, and gamma/beta to undo them, so the
 * network starts as the pretrained one (in inference mode exactly; in training mode up to the batch's
 * own statistics). Layers are set in graph order, each measured after the ones before it are set.
 */
export function initialiseBatchNormFromData(model: tf.LayersModel, x: tf.Tensor4D): number {
  const bnLayers = model.layers.filter((l) => l.getClassName() === 'BatchNormalization');
  for (const layer of bnLayers) {
    const probe = tf.model({ inputs: model.inputs, outputs: layer.input as tf.SymbolicTensor });
    const weights = tf.tidy(() => {
      const h = probe.predict(x) as tf.Tensor4D;
      const { mean, variance } = tf.moments(h, [0, 1, 2]);
      const epsilon = (layer.getConfig() as { epsilon: number }).epsilon;
      // gamma * (h - mean) / sqrt(var + eps) + beta = h  when  gamma = sqrt(var + eps), beta = mean.
      return [tf.sqrt(tf.add(variance, epsilon)), mean, mean, variance];
    });
    layer.setWeights(weights);
    tf.dispose(weights);
  }
  return bnLayers.length;
}

/** The input rescaling stored in an imported backbone (its first layer). */
export function backboneRescaling(backbone: tf.LayersModel): { scale: number; offset: number } {
  const layer = backbone.layers.find((l) => l.getClassName() === 'Rescaling');
  if (!layer) throw new Error('the backbone has no input rescaling layer; import it again with `dermlens import-backbone`.');
  const config = layer.getConfig() as { scale: number; offset: number };
  return { scale: config.scale, offset: config.offset };
}
