// `dermlens fit-gate`: trains the image-kind gate (core/dermoscopy-gate.ts) of a finished run and writes it
// into the run's models as their second output: dermoscopic / clinical / other, one softmax on the
// network's pooled features (the last conv's and, in a MobileNetV2, three intermediate blocks'; see
// core/dermoscopy-gate.ts GATE_BLOCK_TAPS), a multinomial logistic regression fitted with outlier exposure:
// - dermoscopic: the run's training images of every source (split.json's train side, HAM10000 and any
//   --extra-data folder), and for a run trained with --field-of-view each of them once more with a random
//   round field of view (drawn as in training, seeded by the run's seed), since the network reads those;
// - clinical: the training patients of a folder of clinical skin photos (--clinical, PAD-UFES-20's layout;
//   trainer/data/clinical-photos.ts deals the patients to train / val / heldout by a hash of their id);
// - other: the 'train' part of a set of real non-dermoscopic images (scripts/build-ood-set.ts writes it,
//   with a manifest that gives every image a train/val/heldout part per source).
// The features are the shipped weights' own (best-<quantize>/ when the run exported one), so the gate is
// measured as it ships. Both thresholds are chosen on validation alone: P(dermoscopic)'s as the highest that
// flags at most GATE_VAL_FLAG_RATE of the HAM10000 validation images; P(clinical) / (P(clinical) + P(other))'s
// as the one that best tells the validation clinical photos from the validation non-skin images. The
// held-out parts (HAM10000 test, the run's external collections, the held-out patients' photos, the held-out
// non-dermoscopic images) are then scored once, per source, into gate.json. Every report also scores the
// HAM10000 validation and test images with a centred field of view (augment.ts centredFieldOfView), so a gate
// that turns such images away says so.
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { tf } from '../../core/tf.ts';
import { CLASS_CODES } from '../../core/labels.ts';
import { computeMetrics } from '../../core/metrics.ts';
import { predictProbabilities } from '../../core/classifier.ts';
import {
  canonicalInputSize,
  formatInputSize,
  inputShape,
  preprocess,
  type CanonicalInputSize,
  type InputSize,
} from '../../core/preprocess.ts';
import {
  attachGate,
  clinicalShare,
  featureModel,
  flagRate,
  gateFeatureLayers,
  IMAGE_KIND_LAYER,
  IMAGE_KINDS,
  type FlagRate,
} from '../../core/dermoscopy-gate.ts';
import { parseCsv } from '../data/csv.ts';
import { concatDatasets, loadDataset, type Dataset } from '../data/dataset.ts';
import { decodeImage } from '../data/images.ts';
import { loadClassifierOnly } from '../run/model-files.ts';
import { exportModel } from '../model/export.ts';
import { loadSplit, splitIndices } from '../data/split.ts';
import { readRunSources } from '../data/run-sources.ts';
import { presentClassesScore, type Interval } from '../evaluate/bootstrap.ts';
import type { ExternalEvaluation } from '../evaluate/external.ts';
import {
  CLINICAL_SPLIT_RULE,
  clinicalLabelledImages,
  PAD_DIAGNOSIS_CLASS,
  readClinicalPhotos,
  type ClinicalPhoto,
} from '../data/clinical-photos.ts';
import { readJsonFile, writeJsonAtomic } from '../run/json.ts';
import type { Quantization, TrainConfig } from '../run/config.ts';
import { runPaths } from '../run/layout.ts';
import { makeRng } from '../data/rng.ts';
import { centredFieldOfView, drawFieldOfView, maskFieldOfView } from './augment.ts';

/** At most this share of HAM10000 validation images may fall below the threshold (the target on test is 2%). */
export const GATE_VAL_FLAG_RATE = 0.01;
const OOD_PARTS = ['train', 'val', 'heldout'] as const;
type OodPart = (typeof OOD_PARTS)[number];

interface OodImage {
  file: string;
  source: string;
  part: OodPart;
}

/** Of n images that should not pass as dermoscopic: how many are flagged, and how many named their own kind (clinical or other). */
export interface KindRate extends FlagRate {
  /** Named the expected kind ('clinical' for clinical photos, 'other' for non-skin images). */
  named: number;
  namedRate: number;
}

export interface GateReport {
  /** v2: the three-way gate. v1 files (the two-way gate) have no clinical fields. */
  format: 'dermlens-gate-v2';
  method: string;
  kinds: typeof IMAGE_KINDS;
  /** On P(dermoscopic): below it an image is not dermoscopic. */
  threshold: number;
  /** On P(clinical) / (P(clinical) + P(other)): at or above it a non-dermoscopic image is named clinical. */
  clinicalThreshold: number;
  targetValFlagRate: number;
  features: number;
  /** The layers whose average-pooled outputs make the features, in order (absent in gates that read the last pool alone). */
  featureLayers?: string[];
  featuresFrom: string;
  training: {
    dermoscopic: number;
    /** Training images per source (HAM10000 and each collection of the run's extra folders), without the field-of-view copies. */
    dermoscopicPerSource: Record<string, number>;
    /** Of `dermoscopic`: training images added a second time with a random field of view (runs trained with --field-of-view). */
    dermoscopicWithFieldOfView?: number;
    clinical: number;
    clinicalPatients: number;
    notDermoscopic: number;
    notDermoscopicPerSource: Record<string, number>;
    steps: number;
    l2: number;
  };
  clinicalSet: { dir: string; split: string; photos: Record<OodPart, number>; patients: Record<OodPart, number> };
  /** Flagged = scored below the threshold ("not a dermoscopic image"). hamFieldOfView: the same images with a centred round field of view. */
  val: { ham: FlagRate; hamFieldOfView?: FlagRate; ood: KindRate; clinical: KindRate };
  test: {
    ham: FlagRate;
    hamFieldOfView?: FlagRate;
    hamPerClass: Record<string, FlagRate>;
    /** The run's external dermoscopic collections (split.json external, never trained on), per collection. */
    external: Record<string, FlagRate>;
    ood: KindRate;
    oodPerSource: Record<string, KindRate>;
    /** The held-out patients' clinical photos. */
    clinical: KindRate & { patients: number };
    clinicalPerDiagnosis: Record<string, KindRate>;
    /**
     * The lesion classifier itself on the held-out patients' photos whose diagnosis maps to a DermLens class
     * (PAD_DIAGNOSIS_CLASS), whatever the gate says: why its answer is folded away for clinical photos.
     */
    clinicalLesions: {
      n: number;
      balancedAccuracy: number;
      /** 95% bootstrap interval of balancedAccuracy, drawn by patient (absent in gates fitted before it was added). */
      interval?: Interval;
      chance: number;
      perClass: Record<string, { support: number; recall: number }>;
      leftOut: Record<string, number>;
    };
    /**
     * The run itself and each --compare run on the same held-out phone photos, beside their dermoscopic
     * validation figures (absent in gates fitted without --compare).
     */
    clinicalLesionsCompared?: ClinicalComparison[];
  };
  skipped: Array<{ file: string; reason: string }>;
  oodDir: string;
}

/** One classifier's row in the phone-photo comparison: what it trained on, and how it reads phone and dermoscopic images. */
export interface ClinicalComparison {
  /** The run folder's name. */
  run: string;
  /** Phone photos among its training images. */
  photosTrained: number;
  lesions: GateReport['test']['clinicalLesions'];
  /** HAM10000 validation balanced accuracy (the run's final evaluation, float32 weights). */
  valBalancedAccuracy: number;
  /** The external dermoscopic set: balanced accuracy over its classes, melanoma alert recall (absent without one). */
  external?: { balancedAccuracy: number; melanomaAlertRecall: number | null };
}

/** gate.json as fitted before the three-way gate (two-way: dermoscopic or not); dermlens ship still reads it. */
export interface LegacyGateReport {
  format: 'dermlens-gate-v1';
  method: string;
  threshold: number;
  targetValFlagRate: number;
  training: Pick<
    GateReport['training'],
    'dermoscopic' | 'dermoscopicWithFieldOfView' | 'notDermoscopic' | 'notDermoscopicPerSource' | 'steps' | 'l2'
  >;
  val: { ham: FlagRate; hamFieldOfView?: FlagRate; ood: FlagRate };
  test: {
    ham: FlagRate;
    hamFieldOfView?: FlagRate;
    hamPerClass: Record<string, FlagRate>;
    ood: FlagRate;
    oodPerSource: Record<string, FlagRate>;
  };
}

export interface FitGateOptions {
  runDir: string;
  oodDir: string;
  /** The clinical photos (PAD-UFES-20's layout, trainer/data/clinical-photos.ts). */
  clinicalDir: string;
  cacheDir?: string;
  /**
   * Other finished runs at the same input size whose classifiers are scored on the same held-out phone photos
   * (issue 20: the same recipe with and without phone photos in training, side by side in the model card).
   */
  compare?: string[];
  log?: (line: string) => void;
}

/** The manifest of a non-dermoscopic image set (file, source, split). */
export async function readOodManifest(oodDir: string): Promise<OodImage[]> {
  const path = join(oodDir, 'manifest.csv');
  const text = await readFile(path, 'utf8').catch(() => {
    throw new Error(`${path} not found: build the set with \`node --import tsx scripts/build-ood-set.ts --out ${oodDir}\``);
  });
  const [header, ...records] = parseCsv(text, path);
  const column = (name: string) => {
    const i = header?.fields.indexOf(name) ?? -1;
    if (i < 0) throw new Error(`${path}: no "${name}" column (needs file, source, split)`);
    return i;
  };
  const [file, source, split] = [column('file'), column('source'), column('split')];
  return records.map((r) => {
    const part = r.fields[split] as OodPart;
    if (!r.fields[file] || !r.fields[source] || !OOD_PARTS.includes(part)) {
      throw new Error(
        `${path}:${r.line}: needs a file, a source and a split (${OOD_PARTS.join(' | ')}); got split "${r.fields[split] ?? ''}"`,
      );
    }
    return { file: r.fields[file], source: r.fields[source], part };
  });
}

/**
 * Pooled features [n, f] of n preprocessed images (`pixelsOf(i)`: image i's height*width*3 values), 64 at a
 * time: only one batch of pixels is ever copied, not the whole training side.
 */
export async function features(
  model: tf.LayersModel,
  size: InputSize,
  n: number,
  pixelsOf: (i: number) => Float32Array,
): Promise<Float32Array> {
  const { width, height } = inputShape(size);
  const per = height * width * 3;
  const dims = model.outputs[0].shape[1]!;
  const out = new Float32Array(n * dims);
  for (let start = 0; start < n; start += 64) {
    const count = Math.min(64, n - start);
    const batch = new Float32Array(count * per);
    for (let r = 0; r < count; r++) batch.set(pixelsOf(start + r), r * per);
    const f = tf.tidy(() => model.predict(tf.tensor4d(batch, [count, height, width, 3])) as tf.Tensor2D);
    out.set((await f.data()) as Float32Array, start * dims);
    f.dispose();
  }
  return out;
}

/** Blocks of feature rows [n_k, dims], each with its kind's label, stacked into one training set (x, labels) for fitSoftmax. */
export function stackExamples(
  blocks: ReadonlyArray<readonly [Float32Array, number]>,
  dims: number,
): { x: Float32Array; labels: Uint8Array } {
  const x = new Float32Array(blocks.reduce((a, [f]) => a + f.length, 0));
  const labels = new Uint8Array(x.length / dims);
  let offset = 0;
  for (const [f, label] of blocks) {
    x.set(f, offset);
    labels.fill(label, offset / dims, (offset + f.length) / dims);
    offset += f.length;
  }
  return { x, labels };
}

/**
 * Class-balanced L2-regularised multinomial logistic regression (softmax), full batch, Adam from zero
 * weights: deterministic. Labels are 0..classes-1; each class weighs 1/classes of the loss however many
 * images it has, and with `groups` (a group id per example, e.g. its source) each group weighs the same
 * within its class. Features are standardised with the training mean and deviation, folded back into the
 * returned weights: kernel [dims, classes] row-major, bias [classes].
 */
export function fitSoftmax(
  x: Float32Array,
  labels: Uint8Array,
  dims: number,
  classes: number,
  { steps = 600, l2 = 1e-3, lr = 0.05, groups }: { steps?: number; l2?: number; lr?: number; groups?: ArrayLike<number> } = {},
): { kernel: Float32Array; bias: Float32Array } {
  const n = labels.length;
  const counts = new Array<number>(classes).fill(0);
  for (const l of labels) counts[l]++;
  const empty = counts.findIndex((c) => c === 0);
  if (empty >= 0) throw new Error(`fitSoftmax: class ${empty} has no training examples`);
  if (groups && groups.length !== n) throw new Error(`fitSoftmax: ${groups.length} group ids for ${n} examples`);
  // Examples per (class, group), and groups per class: example i weighs 1 / (classes * groupsIn[l] * size[l, g]).
  const key = (i: number) => `${labels[i]}:${groups ? groups[i] : 0}`;
  const size = new Map<string, number>();
  for (let i = 0; i < n; i++) size.set(key(i), (size.get(key(i)) ?? 0) + 1);
  const groupsIn = new Array<number>(classes).fill(0);
  for (const k of size.keys()) groupsIn[Number(k.split(':')[0])]++;
  const weights = Float32Array.from(labels, (l, i) => 1 / (classes * groupsIn[l] * size.get(key(i))!));
  return tf.tidy(() => {
    const X = tf.tensor2d(x, [n, dims]);
    const { mean, variance } = tf.moments(X, 0);
    const std = tf.add(tf.sqrt(variance), 1e-6);
    const Z = tf.div(tf.sub(X, mean), std);
    const y = tf.oneHot(tf.tensor1d(Int32Array.from(labels), 'int32'), classes);
    const w = tf.tensor1d(weights);
    const kernel = tf.variable(tf.zeros([dims, classes]));
    const bias = tf.variable(tf.zeros([classes]));
    const optimizer = tf.train.adam(lr);
    for (let step = 0; step < steps; step++) {
      optimizer.minimize(
        () => {
          const logits = tf.add(tf.matMul(Z, kernel), bias);
          const losses = tf.losses.softmaxCrossEntropy(y, logits, undefined, undefined, tf.Reduction.NONE);
          return tf.add(tf.sum(tf.mul(losses, w)), tf.mul(l2 / 2, tf.sum(tf.square(kernel)))) as tf.Scalar;
        },
        false,
        [kernel, bias],
      );
    }
    // ((x - mean) / std) K + b = x (K / std) + (b - (mean / std) K)
    const k = tf.div(kernel, tf.reshape(std, [dims, 1]));
    const b = tf.sub(bias, tf.reshape(tf.matMul(tf.reshape(mean, [1, dims]), k), [classes]));
    const result = { kernel: k.dataSync() as Float32Array, bias: b.dataSync() as Float32Array };
    optimizer.dispose();
    kernel.dispose();
    bias.dispose();
    return result;
  });
}

/** Softmax scores [n, classes] of features [n, dims] under a fitted kernel [dims, classes] and bias. */
export function softmaxScores(feats: Float32Array, dims: number, kernel: Float32Array, bias: Float32Array): Float32Array[] {
  const classes = bias.length;
  const n = feats.length / dims;
  const out: Float32Array[] = [];
  for (let i = 0; i < n; i++) {
    const z = Float64Array.from(bias);
    for (let j = 0; j < dims; j++) {
      const f = feats[i * dims + j];
      for (let c = 0; c < classes; c++) z[c] += f * kernel[j * classes + c];
    }
    const max = Math.max(...z);
    const e = z.map((v) => Math.exp(v - max));
    const sum = e.reduce((a, v) => a + v, 0);
    out.push(Float32Array.from(e, (v) => v / sum));
  }
  return out;
}

/**
 * The threshold on P(clinical) / (P(clinical) + P(other)) that best tells validation clinical photos from
 * validation non-skin images among those the dermoscopy threshold flags: the highest mean of "clinical named
 * clinical" and "other named other" (an image that passes as dermoscopic counts as missed either way), on
 * a grid of 0.01 to 0.99; ties go to the value nearest 0.5.
 */
export function chooseClinicalThreshold(
  clinical: ReadonlyArray<{ flagged: boolean; share: number }>,
  other: ReadonlyArray<{ flagged: boolean; share: number }>,
): number {
  let best = { t: 0.5, score: -1 };
  for (let k = 1; k <= 99; k++) {
    const t = k / 100;
    const hit = (xs: ReadonlyArray<{ flagged: boolean; share: number }>, wantClinical: boolean) =>
      xs.length ? xs.filter((x) => x.flagged && x.share >= t === wantClinical).length / xs.length : 0;
    const score = (hit(clinical, true) + hit(other, false)) / 2;
    if (score > best.score + 1e-12 || (Math.abs(score - best.score) <= 1e-12 && Math.abs(t - 0.5) < Math.abs(best.t - 0.5)))
      best = { t, score };
  }
  return best.t;
}

/** The highest threshold under which at most `share` of the (in-scope) scores fall. */
export function thresholdForFlagRate(scores: ArrayLike<number>, share: number): number {
  const sorted = Float64Array.from(scores).sort();
  const allowed = Math.floor(share * sorted.length);
  // Flag = score < threshold; with threshold = sorted[allowed], exactly the `allowed` lowest are below it (ties aside).
  return sorted[Math.min(allowed, sorted.length - 1)];
}

/** The run's dermoscopic images of every source at the run's input size, one load (and cache file) per folder, and their split. */
export async function loadRunImages(config: TrainConfig, runDir: string, cacheDir: string | undefined, log: (line: string) => void) {
  const split = await loadSplit(runPaths(runDir).split);
  const sources = await readRunSources(config, () => {});
  const parts: Dataset[] = [];
  for (const { dir, items } of sources.perFolder)
    parts.push(await loadDataset({ images: items, imageDir: dir, size: config.size, cacheDir }));
  const ds = concatDatasets(parts);
  const idx = splitIndices(ds.items, split);
  // A clinical-photo folder the classifier trained on (--extra-data ../shared/pad-ufes-20) is no dermoscopic
  // example for the gate: its photos are the "clinical" kind, read from --clinical by patient part.
  const clinicalSources = new Set(sources.extras.filter((s) => s.imaging === 'clinical').map((s) => s.name));
  idx.train = idx.train.filter((i) => !clinicalSources.has(ds.items[i].source ?? ''));
  log(
    `dermoscopic: train ${idx.train.length} (every dermoscopic source), HAM10000 val ${idx.val.length}, test ${idx.test.length}, external ${idx.external.length} images at ${config.size} px`,
  );
  return { ds, idx };
}

/** Decodes and preprocesses image files as every DermLens input is; unreadable ones are skipped and listed. */
export async function readPixels<T extends { file: string }>(
  dir: string,
  images: readonly T[],
  size: InputSize,
  skipped: GateReport['skipped'],
) {
  const kept: Array<{ image: T; pixels: Float32Array }> = [];
  for (const image of images) {
    try {
      kept.push({ image, pixels: preprocess(await decodeImage(join(dir, image.file)), size) });
    } catch (err) {
      skipped.push({ file: join(dir, image.file), reason: (err as Error).message });
    }
  }
  return kept;
}

/** Images grouped by part, in manifest order. */
function byPart<T extends { image: { part: OodPart } }>(rows: readonly T[]): Record<OodPart, T[]> {
  return Object.fromEntries(OOD_PARTS.map((p) => [p, rows.filter((r) => r.image.part === p)])) as Record<OodPart, T[]>;
}

/** "the last conv's 1280 and the average-pooled outputs of block05_add (32), ...": the gate's features (gateFeatureLayers), for its method line. */
function describeFeatureLayers(layers: readonly tf.layers.Layer[]): string {
  const channels = (l: tf.layers.Layer) => (l.output as tf.SymbolicTensor).shape.at(-1);
  const last = `the last conv's ${channels(layers.at(-1)!)}`;
  const taps = layers.slice(0, -1);
  return taps.length ? `${last} and the average-pooled outputs of ${taps.map((l) => `${l.name} (${channels(l)})`).join(', ')}` : last;
}

/** Counts per key. */
function tally<T>(xs: readonly T[], key: (x: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[key(x)] = (out[key(x)] ?? 0) + 1;
  return out;
}

export async function fitGate({
  runDir,
  oodDir,
  clinicalDir,
  cacheDir,
  compare = [],
  log = console.log,
}: FitGateOptions): Promise<GateReport> {
  const config = await readJsonFile<TrainConfig>(runPaths(runDir).config, runDir);
  const quantize: Quantization = config.quantize ?? 'none';
  const shippedDir = shippedWeightsDir(runDir, quantize);
  const manifest = await readOodManifest(oodDir);
  const photos = await readClinicalPhotos(clinicalDir);
  const { ds, idx } = await loadRunImages(config, runDir, cacheDir, log);

  // Non-dermoscopic images through the same decoding and preprocessing as every DermLens input.
  const skipped: GateReport['skipped'] = [];
  const ood = byPart(await readPixels(oodDir, manifest, config.size, skipped));
  const clinical = byPart(await readPixels(clinicalDir, photos, config.size, skipped));
  const patients = (rows: Array<{ image: ClinicalPhoto }>) => new Set(rows.map((r) => r.image.patientId)).size;
  log(`non-dermoscopic images: ${OOD_PARTS.map((p) => `${p} ${ood[p].length}`).join(', ')}`);
  log(
    `clinical photos (${CLINICAL_SPLIT_RULE}): ${OOD_PARTS.map((p) => `${p} ${clinical[p].length} of ${patients(clinical[p])} patients`).join(', ')}` +
      (skipped.length ? `; ${skipped.length} unreadable, skipped` : ''),
  );

  const loaded = await loadClassifierOnly(shippedDir);
  const featurizer = featureModel(loaded.model);
  const dims = featurizer.outputs[0].shape[1]!;
  const featureLayers = gateFeatureLayers(loaded.model);
  try {
    const size = config.size;
    const { width, height } = inputShape(size);
    const per = height * width * 3;
    const pixelsOf = (i: number) => ds.pixels.subarray(i * per, (i + 1) * per);
    const hamFeatures = (indices: number[]) => features(featurizer, size, indices.length, (i) => pixelsOf(indices[i]));
    const listFeatures = (rows: Array<{ pixels: Float32Array }>) => features(featurizer, size, rows.length, (i) => rows[i].pixels);
    /** Features of the images with a field of view: `fovOf(k)` for the k-th index. */
    const maskedFeatures = (indices: number[], fovOf: (k: number) => ReturnType<typeof centredFieldOfView>) =>
      features(featurizer, size, indices.length, (k) => {
        const pixels = pixelsOf(indices[k]).slice();
        maskFieldOfView(pixels, width, height, 3, fovOf(k));
        return pixels;
      });
    const derm = {
      train: await hamFeatures(idx.train),
      val: await hamFeatures(idx.val),
      test: await hamFeatures(idx.test),
      external: await hamFeatures(idx.external),
    };
    const centred = centredFieldOfView(size);
    const dermFov = { val: await maskedFeatures(idx.val, () => centred), test: await maskedFeatures(idx.test, () => centred) };
    const rng = makeRng(config.seed + 7919);
    const trainFov = config.fieldOfView
      ? await maskedFeatures(idx.train, () => drawFieldOfView(Array.from({ length: 5 }, rng), width, height))
      : new Float32Array(0);
    const oodFeatures = {} as Record<OodPart, Float32Array>;
    const clinicalFeatures = {} as Record<OodPart, Float32Array>;
    for (const p of OOD_PARTS) {
      oodFeatures[p] = await listFeatures(ood[p]);
      clinicalFeatures[p] = await listFeatures(clinical[p]);
    }

    // Labels in IMAGE_KINDS order: 0 dermoscopic, 1 clinical, 2 other.
    const { x, labels } = stackExamples(
      [
        [derm.train, 0],
        [trainFov, 0],
        [clinicalFeatures.train, 1],
        [oodFeatures.train, 2],
      ],
      dims,
    );
    const steps = 600;
    const l2 = 1e-3;
    const { kernel, bias } = fitSoftmax(x, labels, dims, IMAGE_KINDS.length, { steps, l2 });
    const score = (feats: Float32Array) => softmaxScores(feats, dims, kernel, bias);

    // Thresholds on validation alone.
    const hamValScores = score(derm.val);
    const threshold = thresholdForFlagRate(
      hamValScores.map((p) => p[0]),
      GATE_VAL_FLAG_RATE,
    );
    const flagShare = (rows: Float32Array[]) => rows.map((p) => ({ flagged: p[0] < threshold, share: clinicalShare(p) }));
    const [clinicalVal, oodVal] = [score(clinicalFeatures.val), score(oodFeatures.val)];
    const clinicalThreshold = chooseClinicalThreshold(flagShare(clinicalVal), flagShare(oodVal));

    const flags = (rows: Float32Array[]) =>
      flagRate(
        rows.map((p) => p[0]),
        threshold,
      );
    const kindRate = (rows: Float32Array[], wantClinical: boolean): KindRate => {
      const named = flagShare(rows).filter((r) => r.flagged && r.share >= clinicalThreshold === wantClinical).length;
      return { ...flags(rows), named, namedRate: rows.length ? named / rows.length : 0 };
    };
    const where = <T>(rows: T[], keep: (i: number) => boolean) => rows.filter((_, i) => keep(i));

    // The held-out parts, scored once.
    const [hamTest, externalScores, oodHeld, clinicalHeld] = [
      score(derm.test),
      score(derm.external),
      score(oodFeatures.heldout),
      score(clinicalFeatures.heldout),
    ];
    const collections = [...new Set(idx.external.map((i) => ds.items[i].dataset ?? 'external'))].sort();
    const oodSources = [...new Set(ood.heldout.map((r) => r.image.source))].sort();
    const diagnoses = [...new Set(clinical.heldout.map((r) => r.image.diagnostic))].sort();
    const dermoscopicPerSource = tally(idx.train, (i) => ds.items[i].dataset ?? 'ham10000');

    const clinicalLesions = await scoreLesions(loaded, clinical.heldout, size);
    const photoIds = new Set(clinicalLabelledImages(photos).map((p) => p.imageId));
    const clinicalLesionsCompared = compare.length
      ? [
          await comparisonRow(runDir, clinicalLesions, photoIds),
          ...(await Promise.all(compare.map((dir) => compareRun(dir, size, clinical.heldout, photoIds, clinicalDir)))),
        ]
      : undefined;

    const report: GateReport = {
      format: 'dermlens-gate-v2',
      method:
        `multinomial logistic regression (softmax over dermoscopic / clinical / other) on ${dims} pooled features of the shipped network (${describeFeatureLayers(featureLayers)}; a 3-unit layer beside the 7-class head, same forward pass), ` +
        `trained with outlier exposure: ${idx.train.length} dermoscopic training images of the run (${Object.entries(dermoscopicPerSource)
          .map(([k, n]) => `${k} ${n}`)
          .join(', ')})${trainFov.length ? ` and each again with a random round field of view, as the network was trained` : ''}, ` +
        `${clinical.train.length} clinical photos of skin lesions (${patients(clinical.train)} training patients) and ${ood.train.length} images that are not skin, ` +
        `each kind weighing a third, L2 ${l2}, ${steps} full-batch Adam steps on standardised features`,
      kinds: IMAGE_KINDS,
      threshold,
      clinicalThreshold,
      targetValFlagRate: GATE_VAL_FLAG_RATE,
      features: dims,
      featureLayers: featureLayers.map((l) => l.name),
      featuresFrom: shippedDir,
      training: {
        dermoscopic: (derm.train.length + trainFov.length) / dims,
        dermoscopicPerSource,
        ...(trainFov.length ? { dermoscopicWithFieldOfView: trainFov.length / dims } : {}),
        clinical: clinical.train.length,
        clinicalPatients: patients(clinical.train),
        notDermoscopic: ood.train.length,
        notDermoscopicPerSource: tally(ood.train, (r) => r.image.source),
        steps,
        l2,
      },
      clinicalSet: {
        dir: clinicalDir,
        split: CLINICAL_SPLIT_RULE,
        photos: Object.fromEntries(OOD_PARTS.map((p) => [p, clinical[p].length])) as Record<OodPart, number>,
        patients: Object.fromEntries(OOD_PARTS.map((p) => [p, patients(clinical[p])])) as Record<OodPart, number>,
      },
      val: {
        ham: flags(hamValScores),
        hamFieldOfView: flags(score(dermFov.val)),
        ood: kindRate(oodVal, false),
        clinical: kindRate(clinicalVal, true),
      },
      test: {
        ham: flags(hamTest),
        hamFieldOfView: flags(score(dermFov.test)),
        hamPerClass: Object.fromEntries(
          CLASS_CODES.map((code, k) => [code, flags(where(hamTest, (i) => ds.items[idx.test[i]].label === k))]),
        ),
        external: Object.fromEntries(
          collections.map((c) => [c, flags(where(externalScores, (i) => (ds.items[idx.external[i]].dataset ?? 'external') === c))]),
        ),
        ood: kindRate(oodHeld, false),
        oodPerSource: Object.fromEntries(
          oodSources.map((src) => [
            src,
            kindRate(
              where(oodHeld, (i) => ood.heldout[i].image.source === src),
              false,
            ),
          ]),
        ),
        clinical: { ...kindRate(clinicalHeld, true), patients: patients(clinical.heldout) },
        clinicalPerDiagnosis: Object.fromEntries(
          diagnoses.map((d) => [
            d,
            kindRate(
              where(clinicalHeld, (i) => clinical.heldout[i].image.diagnostic === d),
              true,
            ),
          ]),
        ),
        clinicalLesions,
        ...(clinicalLesionsCompared ? { clinicalLesionsCompared } : {}),
      },
      skipped,
      oodDir,
    };

    // Both exported copies get the gate fitted on the shipped copy's features, each re-exported from
    // its own weights (best/ stays float32).
    for (const [dir, q] of [[runPaths(runDir).best, 'none'], ...(quantize === 'none' ? [] : [[shippedDir, quantize]])] as Array<
      [string, Quantization]
    >) {
      const target = dir === shippedDir ? loaded : await loadClassifierOnly(dir);
      try {
        const gated = attachGate(target.model, kernel, bias);
        await exportModel(gated, dir, { ...target.metadata, dermoscopyThreshold: threshold, clinicalThreshold }, q);
        gated.getLayer(IMAGE_KIND_LAYER).dispose(); // the only layer the gated model does not share with target
      } finally {
        if (target !== loaded) target.dispose();
      }
    }
    await writeJsonAtomic(runPaths(runDir).gate, report);
    return report;
  } finally {
    loaded.dispose();
  }
}

/** The weights a run ships: best/, or the quantized copy its --quantize made. */
const shippedWeightsDir = (dir: string, quantize: Quantization) =>
  quantize === 'none' ? runPaths(dir).best : runPaths(dir).quantized(quantize);

/** A run's comparison row from its own files, given its score on the held-out phone photos. */
async function comparisonRow(
  dir: string,
  lesions: GateReport['test']['clinicalLesions'],
  photoIds: ReadonlySet<string>,
): Promise<ClinicalComparison> {
  const [split, detail] = await Promise.all([
    loadSplit(runPaths(dir).split),
    readJsonFile<{ val: { balancedAccuracy: number }; external?: ExternalEvaluation }>(runPaths(dir).metricsDetail, dir),
  ]);
  return {
    run: basename(dir),
    photosTrained: split.train.filter((id) => photoIds.has(id)).length,
    lesions,
    valBalancedAccuracy: detail.val.balancedAccuracy,
    ...(detail.external
      ? {
          external: {
            balancedAccuracy: detail.external.all.balancedAccuracy,
            melanomaAlertRecall: detail.external.melanomaAlert?.recall ?? null,
          },
        }
      : {}),
  };
}

/**
 * A --compare run's row: its shipped weights (as its config quantizes them) scored on the same held-out photos.
 * A run with another input size (a 128 px square beside a 160x120 run) gets the same photos prepared at its own
 * size, as its classifier would see them; a photo that loads at one size and not the other is refused.
 */
async function compareRun(
  dir: string,
  size: CanonicalInputSize,
  heldout: Array<{ image: ClinicalPhoto; pixels: Float32Array }>,
  photoIds: ReadonlySet<string>,
  clinicalDir: string,
): Promise<ClinicalComparison> {
  const config = await readJsonFile<TrainConfig>(runPaths(dir).config, `--compare ${dir}`);
  let rows = heldout;
  if (canonicalInputSize(config.size) !== canonicalInputSize(size)) {
    const skipped: GateReport['skipped'] = [];
    rows = await readPixels(
      clinicalDir,
      heldout.map((r) => r.image),
      config.size,
      skipped,
    );
    if (skipped.length)
      throw new Error(
        `--compare ${dir}: ${skipped[0].file} loaded at ${formatInputSize(size)} px but not at ${formatInputSize(config.size)} px (${skipped[0].reason})`,
      );
  }
  const loaded = await loadClassifierOnly(shippedWeightsDir(dir, config.quantize ?? 'none'));
  try {
    return await comparisonRow(dir, await scoreLesions(loaded, rows, config.size), photoIds);
  } finally {
    loaded.dispose();
  }
}

/** The classifier's balanced accuracy on clinical photos whose diagnosis is a DermLens class (the model's own calibration and flip mode). */
async function scoreLesions(
  loaded: Awaited<ReturnType<typeof loadClassifierOnly>>,
  rows: Array<{ image: ClinicalPhoto; pixels: Float32Array }>,
  size: InputSize,
): Promise<GateReport['test']['clinicalLesions']> {
  const { width, height } = inputShape(size);
  const per = height * width * 3;
  const scored = rows.filter((r) => r.image.diagnostic in PAD_DIAGNOSIS_CLASS);
  const leftOut = tally(
    rows.filter((r) => !(r.image.diagnostic in PAD_DIAGNOSIS_CLASS)),
    (r) => r.image.diagnostic || '(none)',
  );
  const labels = scored.map((r) => CLASS_CODES.indexOf(PAD_DIAGNOSIS_CLASS[r.image.diagnostic]));
  const probabilities: Float32Array[] = [];
  for (let start = 0; start < scored.length; start += 32) {
    const batch = scored.slice(start, start + 32);
    const x = new Float32Array(batch.length * per);
    batch.forEach((r, i) => x.set(r.pixels, i * per));
    const input = tf.tensor4d(x, [batch.length, height, width, 3]);
    const p = predictProbabilities(loaded.model, input, loaded.metadata);
    const flat = (await p.data()) as Float32Array;
    tf.dispose([input, p]);
    for (let i = 0; i < batch.length; i++) probabilities.push(flat.slice(i * CLASS_CODES.length, (i + 1) * CLASS_CODES.length));
  }
  const m = scored.length ? computeMetrics(labels, probabilities) : null;
  const present = CLASS_CODES.filter((_, k) => labels.includes(k));
  const interval = scored.length
    ? presentClassesScore(
        labels,
        probabilities,
        CLASS_CODES.length,
        scored.map((r) => r.image.patientId),
      ).interval
    : undefined;
  return {
    n: scored.length,
    balancedAccuracy: m?.balancedAccuracy ?? 0,
    ...(interval ? { interval } : {}),
    chance: present.length ? 1 / present.length : 0,
    perClass: Object.fromEntries(present.map((code) => [code, { support: m!.perClass[code].support, recall: m!.perClass[code].recall }])),
    leftOut,
  };
}

/** The lines `dermlens fit-gate` prints. */
export function describeGate(r: GateReport): string[] {
  const pct = (f: FlagRate) => `${(100 * f.rate).toFixed(1)}% (${f.flagged}/${f.n})`;
  const kinds = (f: KindRate, kind: string) => `flagged ${pct(f)}, named ${kind} ${(100 * f.namedRate).toFixed(1)}% (${f.named}/${f.n})`;
  return [
    `thresholds: P(dermoscopic) ${r.threshold.toFixed(4)} (at most ${(100 * r.targetValFlagRate).toFixed(0)}% of HAM10000 validation images below it); ` +
      `P(clinical | not dermoscopic) ${r.clinicalThreshold.toFixed(2)} (chosen on validation clinical vs non-skin images)`,
    `validation: HAM10000 flagged ${pct(r.val.ham)}; clinical photos ${kinds(r.val.clinical, 'clinical')}; non-dermoscopic ${kinds(r.val.ood, 'other')}`,
    `held out:   HAM10000 test flagged ${pct(r.test.ham)}; ${Object.entries(r.test.external)
      .map(([c, f]) => `external ${c} flagged ${pct(f)}`)
      .join('; ')}`,
    `  clinical photos of ${r.test.clinical.patients} held-out patients: ${kinds(r.test.clinical, 'clinical')}`,
    `  non-dermoscopic images: ${kinds(r.test.ood, 'other')}`,
    `  the lesion classifier on the held-out patients' photos (${r.test.clinicalLesions.n} with a DermLens class): balanced accuracy ${r.test.clinicalLesions.balancedAccuracy.toFixed(3)}${r.test.clinicalLesions.interval ? ` (95% CI ${r.test.clinicalLesions.interval.low.toFixed(3)}-${r.test.clinicalLesions.interval.high.toFixed(3)}, drawn by patient)` : ''} (chance ${r.test.clinicalLesions.chance.toFixed(2)}); ` +
      Object.entries(r.test.clinicalLesions.perClass)
        .map(([c, m]) => `${c} recall ${m.recall.toFixed(2)} of ${m.support}`)
        .join(', '),
    ...(r.test.hamFieldOfView && r.val.hamFieldOfView
      ? [
          `  with a round field of view (centred circle of the height): HAM10000 validation flagged ${pct(r.val.hamFieldOfView)}, test ${pct(r.test.hamFieldOfView)}`,
        ]
      : []),
    `  HAM10000 test per class: ${Object.entries(r.test.hamPerClass)
      .map(([c, f]) => `${c} ${pct(f)}`)
      .join(', ')}`,
    `  clinical photos per diagnosis: ${Object.entries(r.test.clinicalPerDiagnosis)
      .map(([d, f]) => `${d} ${pct(f)}`)
      .join(', ')}`,
    `  non-dermoscopic per source: ${Object.entries(r.test.oodPerSource)
      .map(([s, f]) => `${s} ${pct(f)}`)
      .join(', ')}`,
    ...(r.test.clinicalLesionsCompared ?? []).map(
      (c) =>
        `  ${c.run} (${c.photosTrained} phone photos trained on): held-out phone photos ${c.lesions.balancedAccuracy.toFixed(3)}` +
        `${c.lesions.interval ? ` (${c.lesions.interval.low.toFixed(3)}-${c.lesions.interval.high.toFixed(3)})` : ''}, HAM10000 validation ${c.valBalancedAccuracy.toFixed(3)}` +
        (c.external
          ? `, external ${c.external.balancedAccuracy.toFixed(3)}, external melanoma alert ${c.external.melanomaAlertRecall === null ? 'none' : `${(100 * c.external.melanomaAlertRecall).toFixed(1)}%`}`
          : ''),
    ),
  ];
}
