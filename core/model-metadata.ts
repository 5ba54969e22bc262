// The DermLens metadata stored in model.json (userDefinedMetadata.dermlens): written by the trainer when
// it exports a model, read and checked by the classifier in Node and in the browser. One definition of
// both sides, so a field cannot be written under one name and read under another.
import type { tf } from './tf.ts';
import { CLASS_CODES, type ClassCode } from './labels.ts';
import { formatInputSize, inputShape, preprocessVersion, type InputShape, type InputSize } from './preprocess.ts';
import { gateOutputIndex, gateUnits, type GateThresholds } from './dermoscopy-gate.ts';

/** What the trainer stores in model.json's userDefinedMetadata.dermlens. */
export interface ModelMetadata {
  version: 1;
  arch: string;
  /** A square model's input side. Absent on a non-square model, which has inputWidth and inputHeight instead. */
  inputSize?: number;
  /** A non-square model's input width and height in pixels (tensor [n, inputHeight, inputWidth, 3]). */
  inputWidth?: number;
  inputHeight?: number;
  classes: ClassCode[];
  /** Softmax temperature fitted on the validation split (1 = uncalibrated). */
  temperature: number;
  /** 'flip': average the prediction of the image and its mirror image. */
  tta: 'none' | 'flip';
  preprocess: string;
  /**
   * The melanoma operating point: a result raises a melanoma alert when P(mel) is at or above this
   * (chosen on validation for high melanoma recall), even when another class is more likely.
   * Null: no alert rule beyond the arg-max.
   */
  melanomaThreshold: number | null;
  /**
   * The out-of-scope gate's threshold (core/dermoscopy-gate.ts): an image whose P(dermoscopic) is below
   * it is reported as "not a dermoscopic image". Null: the model has no gate.
   */
  dermoscopyThreshold?: number | null;
  /**
   * The three-way gate's second threshold: an image below dermoscopyThreshold is named "clinical" (an
   * ordinary photo of skin) when P(clinical) / (P(clinical) + P(other)) is at or above it, else "other".
   * Null: no gate, or the older two-way gate (dermoscopic / other only).
   */
  clinicalThreshold?: number | null;
}

/**
 * The input a model's metadata states: inputSize (square) or inputWidth x inputHeight. readMetadata's
 * result always states one (taken from the input tensor where the stored metadata has none).
 */
export function metadataInputShape(metadata: Pick<ModelMetadata, 'inputSize' | 'inputWidth' | 'inputHeight'>): InputShape {
  const { inputSize, inputWidth, inputHeight } = metadata;
  return inputShape(inputSize ?? { width: inputWidth ?? NaN, height: inputHeight ?? NaN });
}

/**
 * The stored form of an input: `inputSize` for a square input (as every model so far), `inputWidth`/`inputHeight`
 * otherwise. model.json's metadata and model-card.json state the input this way.
 */
export function storedInput(size: InputSize): Pick<ModelMetadata, 'inputSize' | 'inputWidth' | 'inputHeight'> {
  const { width, height } = inputShape(size);
  return width === height ? { inputSize: width } : { inputWidth: width, inputHeight: height };
}

/** The gate's thresholds from the metadata; null for a model without a gate. */
export function gateThresholds(metadata: Pick<ModelMetadata, 'dermoscopyThreshold' | 'clinicalThreshold'>): GateThresholds | null {
  return metadata.dermoscopyThreshold == null
    ? null
    : { dermoscopy: metadata.dermoscopyThreshold, clinical: metadata.clinicalThreshold ?? null };
}

/** The metadata the trainer writes for a model; what it does not know yet (temperature, thresholds) gets the neutral value. */
export function dermlensMetadata(fields: {
  arch: string;
  inputSize: InputSize;
  temperature?: number;
  tta?: 'none' | 'flip';
  melanomaThreshold?: number | null;
  dermoscopyThreshold?: number | null;
  clinicalThreshold?: number | null;
}): ModelMetadata {
  return {
    version: 1,
    arch: fields.arch,
    ...storedInput(fields.inputSize),
    classes: [...CLASS_CODES],
    temperature: fields.temperature ?? 1,
    tta: fields.tta ?? 'none',
    preprocess: preprocessVersion(fields.inputSize),
    melanomaThreshold: fields.melanomaThreshold ?? null,
    dermoscopyThreshold: fields.dermoscopyThreshold ?? null,
    clinicalThreshold: fields.clinicalThreshold ?? null,
  };
}

/** The stored metadata as written, from a loaded model or a parsed model.json (no checks; undefined if absent). */
export function storedMetadata(source: tf.LayersModel | { userDefinedMetadata?: unknown }): Partial<ModelMetadata> | undefined {
  const defined = 'getUserDefinedMetadata' in source ? source.getUserDefinedMetadata() : source.userDefinedMetadata;
  return (defined as { dermlens?: Partial<ModelMetadata> } | undefined)?.dermlens;
}

/** Reads and checks the DermLens metadata; models without it (e.g. a plain Keras export) get defaults. */
export function readMetadata(model: tf.LayersModel): ModelMetadata {
  const shape = model.inputs[0].shape;
  const [, height, width] = shape;
  if (shape.length !== 4 || shape[3] !== 3 || !height || !width) {
    throw new Error(`Model input must be [batch, height, width, 3], got [${shape.join(', ')}].`);
  }
  const input: InputShape = { width, height };
  const classOutput = model.outputs.find((_, i) => i !== gateOutputIndex(model));
  const outputUnits = classOutput?.shape[1];
  if (outputUnits !== CLASS_CODES.length) {
    throw new Error(`Model has ${outputUnits} outputs; DermLens needs ${CLASS_CODES.length} (${CLASS_CODES.join(', ')}).`);
  }
  const stored = storedMetadata(model);
  checkStoredInput(stored, input);
  const expectedPreprocess = preprocessVersion(input);
  const metadata: ModelMetadata = {
    version: 1,
    arch: stored?.arch ?? model.name,
    ...storedInput(input),
    classes: stored?.classes ?? [...CLASS_CODES],
    temperature: stored?.temperature ?? 1,
    tta: stored?.tta ?? 'none',
    preprocess: stored?.preprocess ?? expectedPreprocess,
    melanomaThreshold: stored?.melanomaThreshold ?? null,
    dermoscopyThreshold: stored?.dermoscopyThreshold ?? null,
    clinicalThreshold: stored?.clinicalThreshold ?? null,
  };
  const gate = gateOutputIndex(model);
  if ((gate === null) !== (metadata.dermoscopyThreshold === null)) {
    throw new Error(
      gate === null
        ? 'Model metadata has a dermoscopy threshold but the model has no dermoscopy gate.'
        : 'Model has a dermoscopy gate but no dermoscopyThreshold in its metadata.',
    );
  }
  if (gate !== null && !(metadata.dermoscopyThreshold! > 0 && metadata.dermoscopyThreshold! < 1)) {
    throw new Error(`Model dermoscopy threshold must be in (0, 1), got ${metadata.dermoscopyThreshold}.`);
  }
  const threeWay = gateUnits(model) === 3;
  if (threeWay !== (metadata.clinicalThreshold !== null)) {
    throw new Error(
      threeWay
        ? 'Model has the three-way image-kind gate but no clinicalThreshold in its metadata: run dermlens fit-gate again.'
        : 'Model metadata has a clinicalThreshold but the model has no three-way image-kind gate.',
    );
  }
  if (threeWay && !(metadata.clinicalThreshold! > 0 && metadata.clinicalThreshold! < 1)) {
    throw new Error(`Model clinical threshold must be in (0, 1), got ${metadata.clinicalThreshold}.`);
  }
  if (metadata.classes.join() !== CLASS_CODES.join()) {
    throw new Error(`Model classes [${metadata.classes.join(', ')}] differ from DermLens' [${CLASS_CODES.join(', ')}].`);
  }
  if (metadata.preprocess !== expectedPreprocess) {
    throw new Error(
      `Model was trained with preprocessing "${metadata.preprocess}" but this code implements "${expectedPreprocess}" for a ${formatInputSize(input)} px input.`,
    );
  }
  const t = metadata.melanomaThreshold;
  if (t !== null && !(t > 0 && t <= 1)) throw new Error(`Model melanoma threshold must be in (0, 1], got ${t}.`);
  if (!(metadata.temperature > 0)) throw new Error(`Model temperature must be positive, got ${metadata.temperature}.`);
  return metadata;
}

/**
 * The input the metadata states must be the model's input tensor: `inputSize` only on a square model,
 * `inputWidth` and `inputHeight` together; a model.json edited by hand or a mismatched export is refused
 * before its pixels are prepared at the wrong shape. Metadata that states no input (a plain Keras export) passes.
 */
function checkStoredInput(stored: Partial<ModelMetadata> | undefined, input: InputShape): void {
  if (!stored) return;
  const tensor = `the model's input tensor is ${input.width}x${input.height} (width x height)`;
  const { inputSize, inputWidth, inputHeight } = stored;
  if (inputSize != null && (inputWidth != null || inputHeight != null)) {
    throw new Error(`Model metadata states both inputSize and inputWidth/inputHeight; ${tensor}.`);
  }
  if ((inputWidth == null) !== (inputHeight == null)) {
    throw new Error(
      `Model metadata states ${inputWidth == null ? 'inputHeight without inputWidth' : 'inputWidth without inputHeight'}; ${tensor}.`,
    );
  }
  if (inputSize != null && (inputSize !== input.width || inputSize !== input.height)) {
    throw new Error(`Model metadata says inputSize ${inputSize} (a square input) but ${tensor}.`);
  }
  if (inputWidth != null && (inputWidth !== input.width || inputHeight !== input.height)) {
    throw new Error(`Model metadata says input ${inputWidth}x${inputHeight} (width x height) but ${tensor}.`);
  }
  if (inputWidth != null && inputWidth === inputHeight) {
    throw new Error(
      `Model metadata states a square input as inputWidth/inputHeight (${inputWidth}x${inputHeight}); a square model states inputSize.`,
    );
  }
}
