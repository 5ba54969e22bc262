// `dermlens fit-gate`: trains the "is this a dermoscopic image?" gate (core/dermoscopy-gate.ts) of a
// finished run and writes it into the run's models as their second output.
//
// Outlier exposure on the network's pooled features: positives are the run's HAM10000 training images,
// negatives the 'train' part of a set of real non-dermoscopic images (scripts/build-ood-set.ts writes
// it, with a manifest that gives every image a train/val/heldout part per source). The features are the
// shipped weights' own (best-<quantize>/ when the run exported one), so the gate is measured as it ships.
// The threshold is chosen on validation alone: the highest one that flags at most GATE_VAL_FLAG_RATE of
// the HAM10000 validation images. The held-out non-dermoscopic images and the HAM10000 test split are
// then scored once, per source and per class, into gate.json.
//
// A run trained with --field-of-view reads dermoscopic images with a round field of view (black outside a
// circle), so those are in scope too: each HAM10000 training image then also joins the positives once more
// with a random field of view (drawn as in training, seeded by the run's seed). Every run's report scores the
// validation and test images again with a centred field of view (augment.ts centredFieldOfView), so a gate
// that turns such images away says so.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tf } from '../../core/tf.ts';
import { CLASS_CODES } from '../../core/labels.ts';
import { preprocess } from '../../core/preprocess.ts';
import { attachGate, featureModel, flagRate, gateOutputIndex, GATE_LAYER, type FlagRate } from '../../core/dermoscopy-gate.ts';
import { readMetadata } from '../../core/classifier.ts';
import { parseCsv } from '../data/csv.ts';
import { loadDataset } from '../data/dataset.ts';
import { decodeImage } from '../data/images.ts';
import { parseHamMetadata } from '../data/metadata.ts';
import { fileLoadHandler } from '../run/model-files.ts';
import { exportModel } from '../model/export.ts';
import { loadSplit, splitIndices } from '../data/split.ts';
import { findMetadataFile } from '../data/metadata.ts';
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

export interface GateReport {
  format: 'dermlens-gate-v1';
  method: string;
  threshold: number;
  targetValFlagRate: number;
  features: number;
  featuresFrom: string;
  training: {
    dermoscopic: number;
    /** Of `dermoscopic`: training images added a second time with a random field of view (runs trained with --field-of-view). */
    dermoscopicWithFieldOfView?: number;
    notDermoscopic: number;
    notDermoscopicPerSource: Record<string, number>;
    steps: number;
    l2: number;
  };
  /** Flagged = scored below the threshold ("not a dermoscopic image"). hamFieldOfView: the same images with a centred round field of view. */
  val: { ham: FlagRate; hamFieldOfView?: FlagRate; ood: FlagRate };
  test: {
    ham: FlagRate;
    hamFieldOfView?: FlagRate;
    hamPerClass: Record<string, FlagRate>;
    ood: FlagRate;
    oodPerSource: Record<string, FlagRate>;
  };
  skipped: Array<{ file: string; reason: string }>;
  oodDir: string;
}

export interface FitGateOptions {
  runDir: string;
  oodDir: string;
  cacheDir?: string;
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
 * Pooled features [n, f] of n preprocessed images (`pixelsOf(i)`: image i's size*size*3 values), 64 at a
 * time: only one batch of pixels is ever copied, not the whole training side.
 */
async function features(model: tf.LayersModel, size: number, n: number, pixelsOf: (i: number) => Float32Array): Promise<Float32Array> {
  const per = size * size * 3;
  const dims = model.outputs[0].shape[1]!;
  const out = new Float32Array(n * dims);
  for (let start = 0; start < n; start += 64) {
    const count = Math.min(64, n - start);
    const batch = new Float32Array(count * per);
    for (let r = 0; r < count; r++) batch.set(pixelsOf(start + r), r * per);
    const f = tf.tidy(() => model.predict(tf.tensor4d(batch, [count, size, size, 3])) as tf.Tensor2D);
    out.set((await f.data()) as Float32Array, start * dims);
    f.dispose();
  }
  return out;
}

/**
 * Class-balanced L2-regularised logistic regression, full batch, Adam from zero weights: deterministic.
 * Features are standardised with the training mean and deviation, folded back into the returned weights.
 */
export function fitLogistic(
  x: Float32Array,
  labels: Uint8Array,
  dims: number,
  { steps = 600, l2 = 1e-3, lr = 0.05 } = {},
): { kernel: Float32Array; bias: number } {
  const n = labels.length;
  return tf.tidy(() => {
    const X = tf.tensor2d(x, [n, dims]);
    const { mean, variance } = tf.moments(X, 0);
    const std = tf.add(tf.sqrt(variance), 1e-6);
    const Z = tf.div(tf.sub(X, mean), std);
    const y = tf.tensor1d(Float32Array.from(labels));
    const positives = labels.reduce((a, b) => a + b, 0);
    // Each class weighs half of the loss, however many images it has.
    const w = tf.tensor1d(Float32Array.from(labels, (l) => (l ? 0.5 / positives : 0.5 / (n - positives))));
    const kernel = tf.variable(tf.zeros([dims, 1]));
    const bias = tf.variable(tf.zeros([1]));
    const optimizer = tf.train.adam(lr);
    for (let step = 0; step < steps; step++) {
      optimizer.minimize(
        () => {
          const logits = tf.reshape(tf.add(tf.matMul(Z, kernel), bias), [-1]);
          const losses = tf.losses.sigmoidCrossEntropy(y, logits, undefined, undefined, tf.Reduction.NONE);
          return tf.add(tf.sum(tf.mul(losses, w)), tf.mul(l2 / 2, tf.sum(tf.square(kernel)))) as tf.Scalar;
        },
        false,
        [kernel, bias],
      );
    }
    // sigmoid(((x - mean) / std) . k + b) = sigmoid(x . (k / std) + (b - sum(mean * k / std)))
    const k = tf.div(tf.reshape(kernel, [-1]), std);
    const b = tf.sub(bias, tf.sum(tf.mul(mean, k)));
    const result = { kernel: k.dataSync() as Float32Array, bias: b.dataSync()[0] };
    optimizer.dispose();
    kernel.dispose();
    bias.dispose();
    return result;
  });
}

/** The highest threshold under which at most `share` of the (in-scope) scores fall. */
export function thresholdForFlagRate(scores: ArrayLike<number>, share: number): number {
  const sorted = Float64Array.from(scores).sort();
  const allowed = Math.floor(share * sorted.length);
  // Flag = score < threshold; with threshold = sorted[allowed], exactly the `allowed` lowest are below it (ties aside).
  return sorted[Math.min(allowed, sorted.length - 1)];
}

export async function fitGate({ runDir, oodDir, cacheDir, log = console.log }: FitGateOptions): Promise<GateReport> {
  const config = await readJsonFile<TrainConfig>(runPaths(runDir).config, runDir);
  const split = await loadSplit(runPaths(runDir).split);
  const quantize: Quantization = config.quantize ?? 'none';
  const shippedDir = quantize === 'none' ? runPaths(runDir).best : runPaths(runDir).quantized(quantize);
  const manifest = await readOodManifest(oodDir);

  const metadataPath = await findMetadataFile(config.dataDir);
  const items = parseHamMetadata(await readFile(metadataPath, 'utf8'), metadataPath);
  const ds = await loadDataset({ images: items, imageDir: config.dataDir, size: config.size, cacheDir });
  const idx = splitIndices(ds.items, split);
  log(`HAM10000: train ${idx.train.length}, val ${idx.val.length}, test ${idx.test.length} images at ${config.size} px`);

  // Non-dermoscopic images through the same decoding and preprocessing as every DermLens input.
  const skipped: GateReport['skipped'] = [];
  const ood: Record<OodPart, { images: OodImage[]; pixels: Float32Array[] }> = {
    train: { images: [], pixels: [] },
    val: { images: [], pixels: [] },
    heldout: { images: [], pixels: [] },
  };
  for (const image of manifest) {
    try {
      const pixels = preprocess(await decodeImage(join(oodDir, image.file)), config.size);
      ood[image.part].images.push(image);
      ood[image.part].pixels.push(pixels);
    } catch (err) {
      skipped.push({ file: image.file, reason: (err as Error).message });
    }
  }
  log(
    `non-dermoscopic images: ${OOD_PARTS.map((p) => `${p} ${ood[p].images.length}`).join(', ')}${skipped.length ? `; ${skipped.length} unreadable, skipped` : ''}`,
  );

  const loaded = await loadClassifierOnly(shippedDir);
  const classifier = loaded.model;
  const featurizer = featureModel(classifier);
  const dims = featurizer.outputs[0].shape[1]!;
  try {
    const size = config.size;
    const per = size * size * 3;
    const pixelsOf = (i: number) => ds.pixels.subarray(i * per, (i + 1) * per);
    const hamFeatures = (indices: number[]) => features(featurizer, size, indices.length, (i) => pixelsOf(indices[i]));
    /** Features of the images with a field of view: `fovOf(k)` for the k-th index. */
    const maskedFeatures = (indices: number[], fovOf: (k: number) => ReturnType<typeof centredFieldOfView>) =>
      features(featurizer, size, indices.length, (k) => {
        const pixels = pixelsOf(indices[k]).slice();
        maskFieldOfView(pixels, size, size, 3, fovOf(k));
        return pixels;
      });
    const ham = { train: await hamFeatures(idx.train), val: await hamFeatures(idx.val), test: await hamFeatures(idx.test) };
    const centred = centredFieldOfView(size);
    const hamFov = { val: await maskedFeatures(idx.val, () => centred), test: await maskedFeatures(idx.test, () => centred) };
    const rng = makeRng(config.seed + 7919);
    const trainFov = config.fieldOfView
      ? await maskedFeatures(idx.train, () => drawFieldOfView(Array.from({ length: 5 }, rng), size, size))
      : new Float32Array(0);
    const oodFeatures = {} as Record<OodPart, Float32Array>;
    for (const p of OOD_PARTS) oodFeatures[p] = await features(featurizer, size, ood[p].images.length, (i) => ood[p].pixels[i]);

    const positives = (ham.train.length + trainFov.length) / dims;
    const x = new Float32Array(ham.train.length + trainFov.length + oodFeatures.train.length);
    x.set(ham.train);
    x.set(trainFov, ham.train.length);
    x.set(oodFeatures.train, ham.train.length + trainFov.length);
    const labels = new Uint8Array(positives + ood.train.images.length);
    labels.fill(1, 0, positives);
    const steps = 600;
    const l2 = 1e-3;
    const { kernel, bias } = fitLogistic(x, labels, dims, { steps, l2 });

    const score = (feats: Float32Array) => {
      const n = feats.length / dims;
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        let z = bias;
        for (let j = 0; j < dims; j++) z += feats[i * dims + j] * kernel[j];
        out[i] = 1 / (1 + Math.exp(-z));
      }
      return out;
    };
    const hamVal = score(ham.val);
    const threshold = thresholdForFlagRate(hamVal, GATE_VAL_FLAG_RATE);
    const hamTest = score(ham.test);
    const oodHeld = score(oodFeatures.heldout);
    const hamPerClass = Object.fromEntries(
      CLASS_CODES.map((code, k) => [
        code,
        flagRate(
          hamTest.filter((_, i) => ds.items[idx.test[i]].label === k),
          threshold,
        ),
      ]),
    );
    const sources = [...new Set(ood.heldout.images.map((i) => i.source))].sort();
    const oodPerSource = Object.fromEntries(
      sources.map((s) => [
        s,
        flagRate(
          oodHeld.filter((_, i) => ood.heldout.images[i].source === s),
          threshold,
        ),
      ]),
    );
    const perSourceTrain: Record<string, number> = {};
    for (const i of ood.train.images) perSourceTrain[i.source] = (perSourceTrain[i.source] ?? 0) + 1;

    const report: GateReport = {
      format: 'dermlens-gate-v1',
      method:
        `logistic regression on the ${dims} pooled last-conv features of the shipped network (a sigmoid unit beside the 7-class head, same forward pass), ` +
        `trained with outlier exposure: ${idx.train.length} HAM10000 training images${trainFov.length ? ` (and each again with a random round field of view, as the network was trained)` : ''} against ${ood.train.images.length} non-dermoscopic images, ` +
        `each side weighing half, L2 ${l2}, ${steps} full-batch Adam steps on standardised features`,
      threshold,
      targetValFlagRate: GATE_VAL_FLAG_RATE,
      features: dims,
      featuresFrom: shippedDir,
      training: {
        dermoscopic: positives,
        ...(trainFov.length ? { dermoscopicWithFieldOfView: trainFov.length / dims } : {}),
        notDermoscopic: ood.train.images.length,
        notDermoscopicPerSource: perSourceTrain,
        steps,
        l2,
      },
      val: {
        ham: flagRate(hamVal, threshold),
        hamFieldOfView: flagRate(score(hamFov.val), threshold),
        ood: flagRate(score(oodFeatures.val), threshold),
      },
      test: {
        ham: flagRate(hamTest, threshold),
        hamFieldOfView: flagRate(score(hamFov.test), threshold),
        hamPerClass,
        ood: flagRate(oodHeld, threshold),
        oodPerSource,
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
        await exportModel(gated, dir, { ...target.metadata, dermoscopyThreshold: threshold }, q);
        gated.getLayer(GATE_LAYER).dispose(); // the only layer the gated model does not share with target
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

/** A run's exported model without its gate (a model already gated is refitted from its classifier alone). */
async function loadClassifierOnly(dir: string) {
  const model = await tf.loadLayersModel(fileLoadHandler(join(dir, 'model.json')));
  const metadata = readMetadata(model);
  const gate = gateOutputIndex(model);
  const classifier =
    gate === null ? model : tf.model({ inputs: model.inputs, outputs: model.outputs[gate === 0 ? 1 : 0], name: model.name });
  return { model: classifier, metadata, dispose: () => model.dispose() };
}

/** The lines `dermlens fit-gate` prints. */
export function describeGate(r: GateReport): string[] {
  const pct = (f: FlagRate) => `${(100 * f.rate).toFixed(1)}% (${f.flagged}/${f.n})`;
  return [
    `threshold ${r.threshold.toFixed(4)} (at most ${(100 * r.targetValFlagRate).toFixed(0)}% of HAM10000 validation images below it)`,
    `validation: HAM10000 flagged ${pct(r.val.ham)}, non-dermoscopic flagged ${pct(r.val.ood)}`,
    `held out:   HAM10000 test flagged ${pct(r.test.ham)}, non-dermoscopic flagged ${pct(r.test.ood)}`,
    ...(r.test.hamFieldOfView && r.val.hamFieldOfView
      ? [
          `  with a round field of view (centred circle of the height): HAM10000 validation flagged ${pct(r.val.hamFieldOfView)}, test ${pct(r.test.hamFieldOfView)}`,
        ]
      : []),
    `  HAM10000 test per class: ${Object.entries(r.test.hamPerClass)
      .map(([c, f]) => `${c} ${pct(f)}`)
      .join(', ')}`,
    `  non-dermoscopic per source: ${Object.entries(r.test.oodPerSource)
      .map(([s, f]) => `${s} ${pct(f)}`)
      .join(', ')}`,
  ];
}
