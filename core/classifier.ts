import { tf } from './tf.ts';
import { CLASS_CODES } from './labels.ts';
import { preprocess, type InputShape, type RgbaImage } from './preprocess.ts';
import { foldBatchNorm } from './fold-batchnorm.ts';
import { gateOutputIndex, imageKindVerdict, kindProbabilities, IMAGE_KINDS, type DermoscopyVerdict } from './dermoscopy-gate.ts';
import { gateThresholds, metadataInputShape, readMetadata, type ModelMetadata } from './model-metadata.ts';
import { toPredictions, type Prediction } from './lesion-result.ts';

export { metadataInputShape, readMetadata, type ModelMetadata };

export interface InferenceOptions {
  temperature: number;
  tta: 'none' | 'flip';
}

/**
 * Model input [n,h,w,3] -> calibrated class probabilities [n,7]. The single definition of inference,
 * used by the classifier and by the trainer's evaluation, so reported metrics describe exactly what the
 * extension computes: optional mirror-image averaging, then temperature scaling of the log-probabilities.
 */
export function predictProbabilities(model: tf.LayersModel, x: tf.Tensor4D, options: InferenceOptions): tf.Tensor2D {
  const { probabilities, kinds } = predictWithGate(model, x, options);
  kinds?.dispose();
  return probabilities;
}

/**
 * predictProbabilities plus, for a model with the gate, each image's kind probabilities [n, 3]
 * (dermoscopic, clinical, other; core/dermoscopy-gate.ts kindProbabilities) from the same forward pass
 * (of the image as given, not its mirror).
 */
export function predictWithGate(
  model: tf.LayersModel,
  x: tf.Tensor4D,
  { temperature, tta }: InferenceOptions,
): { probabilities: tf.Tensor2D; kinds: tf.Tensor2D | null } {
  const gate = gateOutputIndex(model);
  /** The class-probability output of a prediction (the only one without a gate). */
  const classesOf = (out: tf.Tensor | tf.Tensor[]) => (gate === null ? out : (out as tf.Tensor[])[gate === 0 ? 1 : 0]) as tf.Tensor2D;
  const [probabilities, kinds] = tf.tidy(() => {
    const out = model.predict(x) as tf.Tensor | tf.Tensor[];
    const mirrored = tta === 'flip' ? classesOf(model.predict(tf.reverse(x, 2)) as tf.Tensor | tf.Tensor[]) : null;
    const p = calibrate(classesOf(out), mirrored, temperature);
    return gate === null ? [p] : [p, kindProbabilities((out as tf.Tensor[])[gate])];
  });
  return { probabilities: probabilities as tf.Tensor2D, kinds: (kinds ?? null) as tf.Tensor2D | null };
}

/**
 * The network's softmax rows -> the reported probabilities: averaged with the mirrored image's rows when
 * given, then temperature-scaled. Shared with core/class-activation-map.ts, which gets both rows from one pass.
 */
export function calibrate(p: tf.Tensor2D, mirrored: tf.Tensor2D | null, temperature: number): tf.Tensor2D {
  return tf.tidy(() => {
    const mean = mirrored ? (tf.div(tf.add(p, mirrored), 2) as tf.Tensor2D) : p;
    if (temperature === 1) return tf.clone(mean);
    return tf.softmax(tf.div(tf.log(tf.maximum(mean, 1e-12)), temperature)) as tf.Tensor2D;
  });
}

// The result shape lives in core/lesion-result.ts (free of tfjs, shared with the extension's light bundles).
export { toPredictions, type Prediction } from './lesion-result.ts';
export { melanomaAlert } from './operating-point.ts';

export class Classifier {
  private model: tf.LayersModel | null;
  readonly metadata: ModelMetadata;
  /** The model's input (width x height; equal for a square model): what preprocess() is given. */
  readonly inputShape: InputShape;

  constructor(model: tf.LayersModel) {
    this.model = model;
    this.metadata = readMetadata(model);
    this.inputShape = metadataInputShape(this.metadata);
  }

  /** The prepared (BatchNorm-folded) network it classifies with, for explaining its answers; still owned here. */
  get network(): tf.LayersModel {
    return this.requireModel();
  }

  /** Pixels -> all seven classes with calibrated probabilities, most likely first. */
  async classify(image: RgbaImage): Promise<Prediction[]> {
    const [probabilities] = await this.classifyInputs([preprocess(image, this.inputShape)]);
    return toPredictions(probabilities);
  }

  /** Whether the model says whether an image is in its scope (it has the dermoscopy gate). */
  get hasDermoscopyGate(): boolean {
    return this.metadata.dermoscopyThreshold != null;
  }

  /** Kind probabilities from the gate (dermoscopic, clinical, other) -> the verdict with this model's thresholds; null without a gate. */
  verdict(kinds: ArrayLike<number> | null): DermoscopyVerdict | null {
    const thresholds = gateThresholds(this.metadata);
    return kinds && thresholds ? imageKindVerdict(kinds, thresholds) : null;
  }

  /**
   * Already-preprocessed inputs -> probability rows and, for a model with the dermoscopy gate, each
   * image's verdict (null without a gate); one forward pass.
   */
  async assessInputs(inputs: Float32Array[]): Promise<Array<{ probabilities: Float32Array; dermoscopy: DermoscopyVerdict | null }>> {
    const model = this.requireModel();
    const { width, height } = this.inputShape;
    const per = height * width * 3;
    const batch = new Float32Array(inputs.length * per);
    inputs.forEach((input, i) => batch.set(input, i * per));
    const x = tf.tensor4d(batch, [inputs.length, height, width, 3]);
    const { probabilities, kinds } = predictWithGate(model, x, this.metadata);
    x.dispose();
    try {
      const flat = (await probabilities.data()) as Float32Array;
      const kindRows = kinds ? ((await kinds.data()) as Float32Array) : null;
      const k = IMAGE_KINDS.length;
      return inputs.map((_, i) => ({
        probabilities: flat.slice(i * CLASS_CODES.length, (i + 1) * CLASS_CODES.length),
        dermoscopy: this.verdict(kindRows && kindRows.subarray(i * k, (i + 1) * k)),
      }));
    } finally {
      tf.dispose([probabilities, kinds ?? []]);
    }
  }

  /** Already-preprocessed inputs (each height*width*3) -> probability rows. */
  async classifyInputs(inputs: Float32Array[]): Promise<Float32Array[]> {
    return (await this.assessInputs(inputs)).map((r) => r.probabilities);
  }

  /** Runs one prediction so the backend compiles its kernels before the first real request. */
  async warmUp(): Promise<void> {
    const { width, height } = this.inputShape;
    await this.classifyInputs([new Float32Array(height * width * 3).fill(0.5)]);
  }

  dispose(): void {
    this.model?.dispose();
    this.model = null;
  }

  private requireModel(): tf.LayersModel {
    if (!this.model) throw new Error('Classifier has been disposed.');
    return this.model;
  }
}

export interface LoadOptions {
  /** Run one prediction after loading (default true). */
  warmUp?: boolean;
  /**
   * Merge BatchNormalization into the conv before it (default true): same outputs, and on wasm the
   * shipped model classifies in 7.5 instead of 10.9 ms (bench:infer vs --no-fold). Off only to measure that.
   */
  foldBatchNorm?: boolean;
}

/**
 * Loads a TF.js layers model (a URL to model.json, or an IOHandler such as the trainer's file handler in
 * Node) and returns a ready classifier. The tfjs backend must already be set by the caller.
 */
export async function load(source: string | tf.io.IOHandler, options: LoadOptions = {}): Promise<Classifier> {
  return fromModel(await tf.loadLayersModel(source), options);
}

/**
 * A ready classifier for a model already in memory (an untrained one in benchmarks, say), prepared as
 * load() prepares a loaded one. Takes ownership: `model` is disposed when it is replaced by its folded
 * copy, when it is rejected, or with the classifier.
 */
export async function fromModel(
  model: tf.LayersModel,
  { warmUp = true, foldBatchNorm: fold = true }: LoadOptions = {},
): Promise<Classifier> {
  let prepared: tf.LayersModel;
  try {
    readMetadata(model); // reject a wrong model before spending time on it
    prepared = fold ? await foldBatchNorm(model) : model;
  } catch (error) {
    model.dispose();
    throw error;
  }
  if (prepared !== model) model.dispose();
  let classifier: Classifier;
  try {
    classifier = new Classifier(prepared);
  } catch (error) {
    prepared.dispose();
    throw error;
  }
  if (warmUp) await classifier.warmUp();
  return classifier;
}
