import { tf } from './tf.ts';
import { NUM_CLASSES } from './labels.ts';
import { buildMobileNetV2 } from './mobilenet-v2.ts';
import { inputShape, type InputSize } from './preprocess.ts';

export interface ModelOptions {
  /** The RGB input: a side for a square input, or width and height (tensor [n, height, width, 3]). */
  inputSize: InputSize;
  /** Seed for weight initialisation, so a run is reproducible. */
  seed?: number;
  /** Input rescaling of a pretrained backbone (mobilenetv2: taken from the imported backbone). */
  rescaling?: { scale: number; offset: number };
  /** mobilenetv2: 'folded' (conv + bias, as the published backbone) or 'batchnorm' (BatchNorm re-added after every conv). */
  normalization?: 'folded' | 'batchnorm';
}

export interface Architecture {
  /** What it is and why, shown by `dermlens train --help` and written into the model card. */
  readonly description: string;
  readonly defaultInputSize: number;
  build(options: ModelOptions): tf.LayersModel;
}

/** A layer's input shape [height, width, 3] for an input size. */
export function inputTensorShape(size: InputSize): [number, number, number] {
  const { width, height } = inputShape(size);
  return [height, width, 3];
}

/** Hands out deterministic, distinct initializer seeds for one model build. */
function seededInit(seed: number) {
  let next = seed;
  return {
    glorot: () => tf.initializers.glorotUniform({ seed: next++ }),
    he: () => tf.initializers.heNormal({ seed: next++ }),
  };
}

/**
 * The original Keras app's CNN, layer for layer: three blocks of
 * 3x3 conv (same padding, relu) -> BatchNorm -> MaxPool 2 -> Dropout 0.25, with 32/64/128 filters;
 * Flatten; Dense 512 relu -> BatchNorm -> Dropout 0.5; Dense 7 softmax.
 * At 64 px this is 4,294,599 parameters, almost all in the Flatten -> Dense(512) matrix.
 */
function buildSeed({ inputSize, seed = 42 }: ModelOptions): tf.LayersModel {
  const init = seededInit(seed);
  const model = tf.sequential({ name: 'seed' });
  [32, 64, 128].forEach((filters, i) => {
    model.add(
      tf.layers.conv2d({
        ...(i === 0 ? { inputShape: inputTensorShape(inputSize) } : {}),
        filters,
        kernelSize: 3,
        padding: 'same',
        activation: 'relu',
        kernelInitializer: init.glorot(),
      }),
    );
    model.add(tf.layers.batchNormalization());
    model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
    model.add(tf.layers.dropout({ rate: 0.25, seed: seed + 100 + i }));
  });
  model.add(tf.layers.flatten());
  model.add(tf.layers.dense({ units: 512, activation: 'relu', kernelInitializer: init.glorot() }));
  model.add(tf.layers.batchNormalization());
  model.add(tf.layers.dropout({ rate: 0.5, seed: seed + 200 }));
  model.add(tf.layers.dense({ units: NUM_CLASSES, activation: 'softmax', kernelInitializer: init.glorot() }));
  return model;
}

/**
 * A small residual CNN for the browser: a plain-conv stem, then stages of depthwise-separable convs
 * with a 1x1-projected shortcut, and global average pooling instead of Flatten -> Dense, which is where
 * the seed model spends 98% of its 4.3 M parameters. About 0.2 M parameters (< 1 MB as float32).
 */
function buildCompact({ inputSize, seed = 42 }: ModelOptions): tf.LayersModel {
  const init = seededInit(seed);
  const convBnRelu = (x: tf.SymbolicTensor, filters: number, strides = 1): tf.SymbolicTensor => {
    const conv = tf.layers.conv2d({ filters, kernelSize: 3, strides, padding: 'same', useBias: false, kernelInitializer: init.he() });
    const bn = tf.layers.batchNormalization();
    return tf.layers.reLU().apply(bn.apply(conv.apply(x))) as tf.SymbolicTensor;
  };
  const sepBn = (x: tf.SymbolicTensor, filters: number): tf.SymbolicTensor => {
    const conv = tf.layers.separableConv2d({
      filters,
      kernelSize: 3,
      padding: 'same',
      useBias: false,
      depthwiseInitializer: init.he(),
      pointwiseInitializer: init.he(),
    });
    return tf.layers.batchNormalization().apply(conv.apply(x)) as tf.SymbolicTensor;
  };
  /** Two separable convs then a 2x max-pool, added to a strided 1x1 projection of the input. */
  const stage = (x: tf.SymbolicTensor, filters: number): tf.SymbolicTensor => {
    let y = tf.layers.reLU().apply(sepBn(x, filters)) as tf.SymbolicTensor;
    y = sepBn(y, filters);
    y = tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }).apply(y) as tf.SymbolicTensor;
    const shortcut = tf.layers
      .batchNormalization()
      .apply(
        tf.layers.conv2d({ filters, kernelSize: 1, strides: 2, padding: 'same', useBias: false, kernelInitializer: init.he() }).apply(x),
      ) as tf.SymbolicTensor;
    return tf.layers.reLU().apply(tf.layers.add().apply([y, shortcut])) as tf.SymbolicTensor;
  };

  const input = tf.input({ shape: inputTensorShape(inputSize) });
  let x = convBnRelu(input, 32, 2);
  x = convBnRelu(x, 32);
  for (const filters of [64, 128, 256]) x = stage(x, filters);
  x = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dropout({ rate: 0.3, seed: seed + 300 }).apply(x) as tf.SymbolicTensor;
  const output = tf.layers
    .dense({ units: NUM_CLASSES, activation: 'softmax', kernelInitializer: init.glorot() })
    .apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: output, name: 'compact' });
}

export const ARCHITECTURES = {
  seed: {
    description: 'The original Keras CNN (3 conv blocks + Flatten + Dense 512), kept as the baseline.',
    defaultInputSize: 64,
    build: buildSeed,
  },
  compact: {
    description: 'Residual depthwise-separable CNN with global average pooling (~0.2 M params).',
    defaultInputSize: 96,
    build: buildCompact,
  },
  mobilenetv2: {
    description: 'MobileNetV2 1.0 (2.2 M params) with a 7-class head; with --backbone, its ImageNet weights (dermlens import-backbone).',
    defaultInputSize: 128,
    build: buildMobileNetV2,
  },
} satisfies Record<string, Architecture>;

export type ArchitectureName = keyof typeof ARCHITECTURES;

export function isArchitectureName(name: string): name is ArchitectureName {
  return Object.hasOwn(ARCHITECTURES, name);
}

/** Builds an untrained model of the named architecture; throws a clear error for an unknown name. */
export function buildModel(arch: string, options: ModelOptions): tf.LayersModel {
  if (!isArchitectureName(arch)) {
    throw new Error(`Unknown architecture "${arch}". Known: ${Object.keys(ARCHITECTURES).join(', ')}.`);
  }
  let shape: { width: number; height: number } | null = null;
  try {
    shape = inputShape(options.inputSize);
  } catch {
    // refused below with the architecture's own message
  }
  if (!shape || shape.width < 16 || shape.height < 16) {
    const size = options.inputSize;
    throw new Error(
      `Input size must be an integer >= 16 (or WxH, each >= 16), got ${typeof size === 'object' ? `${size.width}x${size.height}` : size}.`,
    );
  }
  return ARCHITECTURES[arch].build(options);
}
