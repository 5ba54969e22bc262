// `dermlens evaluate`: scores a saved model on a labelled image folder, with the model's own
// inference settings (temperature, TTA) unless --tta overrides, and formats the metrics as a table.
import { readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { tf } from '../../core/tf.ts';
import { metadataInputShape, readMetadata, type ModelMetadata } from '../../core/classifier.ts';

import { CLASS_CODES } from '../../core/labels.ts';
import { countKinds, imageKindVerdict, type GateThresholds, type KindCounts } from '../../core/dermoscopy-gate.ts';
import { gateThresholds } from '../../core/model-metadata.ts';
import { scoreExternal, type ExternalEvaluation } from './external.ts';
import { computeMetrics, type Metrics } from '../../core/metrics.ts';
import { loadDataset } from '../data/dataset.ts';
import { parseLabelsCsv, type LabelledImage } from '../data/metadata.ts';
import { clinicalLabelledImages, isClinicalMetadata, parseClinicalPhotos } from '../data/clinical-photos.ts';
import { presentClassesScore, type Interval } from './bootstrap.ts';
import { fileLoadHandler, MODEL_JSON } from '../run/model-files.ts';
import { predictDatasetWithGate } from './predict.ts';

/** A model folder or a model.json path -> the model.json path. */
export async function resolveModelJson(pathOrDir: string): Promise<string> {
  const st = await stat(pathOrDir).catch(() => null);
  if (!st) throw new Error(`model not found: ${pathOrDir}`);
  const file = st.isDirectory() ? join(pathOrDir, MODEL_JSON) : pathOrDir;
  if (!(await stat(file).catch(() => null))?.isFile()) throw new Error(`model not found: ${file} does not exist`);
  return file;
}

export async function loadModelFile(pathOrDir: string): Promise<{ model: tf.LayersModel; metadata: ModelMetadata; path: string }> {
  const path = await resolveModelJson(pathOrDir);
  const model = await tf.loadLayersModel(fileLoadHandler(path));
  try {
    return { model, metadata: readMetadata(model), path };
  } catch (err) {
    model.dispose();
    throw new Error(`${path}: ${(err as Error).message}`);
  }
}

export interface EvaluateOptions {
  model: string;
  imageDir: string;
  labelsPath: string;
  /** true: average with the mirror image; false: never; undefined: as the model's metadata says. */
  tta?: boolean;
  /** Only the images of these collections (the labels file's dataset column; a clinical-photo folder's patient parts). */
  collections?: string[];
  onProgress?: (done: number, total: number) => void;
}

export interface EvaluateResult {
  metrics: Metrics;
  skipped: { imageId: string; reason: string }[];
  inference: { temperature: number; tta: 'none' | 'flip' };
  modelPath: string;
  metadata: ModelMetadata;
  /**
   * Mean recall over the classes present in the labels (the balanced accuracy of a set that lacks some
   * classes, e.g. phone photos: 5, ph2/msk: 3), with a 95% bootstrap interval drawn by lesion (by patient
   * for clinical photos).
   */
  presentClasses: { classes: string[]; balancedAccuracy: number; interval: Interval };
  /**
   * The melanoma alert at the model's threshold, and the metrics per collection when the labels file has a
   * dataset column (isic-extra's labels.csv): null without a threshold, empty without collections.
   */
  breakdown: ExternalEvaluation;
  /**
   * With the gate: how many images it names dermoscopic, clinical and other, overall, per true class and,
   * when the labels file has a dataset column, per collection.
   */
  gate: {
    thresholds: GateThresholds;
    all: KindCounts;
    perClass: Record<string, KindCounts>;
    perCollection: Record<string, KindCounts>;
  } | null;
}

export async function evaluateModel(opts: EvaluateOptions): Promise<EvaluateResult> {
  let text: string;
  try {
    text = await readFile(opts.labelsPath, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(
      code === 'ENOENT' ? `labels file not found: ${opts.labelsPath}` : `cannot read ${opts.labelsPath}: ${(err as Error).message}`,
    );
  }
  // A clinical-photo folder's metadata.csv (PAD-UFES-20's layout) is read as its photos with a DermLens class.
  const listed = isClinicalMetadata(text)
    ? clinicalLabelledImages(await parseClinicalPhotos(text, opts.labelsPath, dirname(opts.labelsPath)))
    : parseLabelsCsv(text, opts.labelsPath);
  const images = opts.collections ? listed.filter((i) => i.dataset !== undefined && opts.collections!.includes(i.dataset)) : listed;
  if (images.length === 0) {
    const names = [...new Set(listed.map((i) => i.dataset).filter(Boolean))].sort();
    throw new Error(
      `${opts.labelsPath}: no image in collection ${opts.collections?.join(',')} (its collections: ${names.join(', ') || 'none, no dataset column'})`,
    );
  }
  const { model, metadata, path } = await loadModelFile(opts.model);
  try {
    const ds = await loadDataset({ images, imageDir: opts.imageDir, size: metadataInputShape(metadata), onProgress: opts.onProgress });
    if (ds.items.length === 0)
      throw new Error(`none of the ${images.length} images in ${opts.labelsPath} could be loaded from ${opts.imageDir}`);
    const inference = {
      temperature: metadata.temperature,
      tta: opts.tta === undefined ? metadata.tta : opts.tta ? ('flip' as const) : ('none' as const),
    };
    const { probabilities: probs, kinds } = await predictDatasetWithGate(
      model,
      ds,
      ds.items.map((_, i) => i),
      inference,
    );
    const labels = ds.items.map((it) => it.label);
    const thresholds = gateThresholds(metadata);
    const gate = kinds && thresholds ? countImageKinds(kinds, thresholds, ds.items) : null;
    const breakdown = scoreExternal(
      ds.items.map((item) => (item.dataset ? item : { ...item, dataset: 'all' })),
      probs,
      metadata.melanomaThreshold,
    );
    const presentClasses = {
      classes: CLASS_CODES.filter((_, k) => labels.includes(k)),
      ...presentClassesScore(
        labels,
        probs,
        CLASS_CODES.length,
        ds.items.map((it) => it.lesionId),
      ),
    };
    return {
      metrics: computeMetrics(labels, probs),
      presentClasses,
      skipped: ds.skipped,
      inference,
      modelPath: path,
      metadata,
      gate,
      breakdown,
    };
  } finally {
    model.dispose();
  }
}

/** Exactly the keys `evaluate --json` and metrics.json carry, in a fixed order. */
export function metricsJson(m: Metrics): Metrics {
  return {
    n: m.n,
    accuracy: m.accuracy,
    balancedAccuracy: m.balancedAccuracy,
    macroF1: m.macroF1,
    macroAuc: m.macroAuc,
    ece: m.ece,
    perClass: m.perClass,
    confusion: m.confusion,
    classes: m.classes,
  };
}

const fmt = (v: number | null, digits = 3) => (v === null || Number.isNaN(v) ? 'n/a' : v.toFixed(digits));

/** A readable multi-line report: per-class table, summary line, confusion matrix. */
export function formatMetrics(m: Metrics): string {
  const lines: string[] = [];
  const pad = (s: string, n: number) => s.padStart(n);
  lines.push(`${'class'.padEnd(7)}${pad('precision', 10)}${pad('recall', 8)}${pad('F1', 7)}${pad('AUC', 7)}${pad('support', 9)}`);
  for (const code of m.classes) {
    const c = m.perClass[code];
    lines.push(
      `${code.padEnd(7)}${pad(fmt(c.precision), 10)}${pad(fmt(c.recall), 8)}${pad(fmt(c.f1), 7)}${pad(fmt(c.auc), 7)}${pad(String(c.support), 9)}`,
    );
  }
  lines.push('');
  lines.push(
    `images ${m.n}   accuracy ${fmt(m.accuracy)}   balanced accuracy ${fmt(m.balancedAccuracy)}   macro F1 ${fmt(m.macroF1)}   macro AUC ${fmt(m.macroAuc)}   ECE ${fmt(m.ece)}`,
  );
  lines.push('');
  lines.push('confusion matrix (rows: true class, columns: predicted)');
  const width = Math.max(6, ...m.confusion.flat().map((v) => String(v).length + 1));
  lines.push(`${''.padEnd(7)}${m.classes.map((c) => pad(c, width)).join('')}`);
  m.confusion.forEach((row, i) => lines.push(`${m.classes[i].padEnd(7)}${row.map((v) => pad(String(v), width)).join('')}`));
  return lines.join('\n');
}

/** The gate's verdicts on labelled images, counted overall, per true class and per collection (dataset column). */
function countImageKinds(
  kinds: Float32Array[],
  thresholds: GateThresholds,
  items: readonly LabelledImage[],
): NonNullable<EvaluateResult['gate']> {
  const verdicts = kinds.map((p) => imageKindVerdict(p, thresholds).kind);
  const collections = [...new Set(items.map((i) => i.dataset).filter((d): d is string => d !== undefined))].sort();
  return {
    thresholds,
    all: countKinds(verdicts),
    perClass: Object.fromEntries(CLASS_CODES.map((code, k) => [code, countKinds(verdicts.filter((_, i) => items[i].label === k))])),
    perCollection: Object.fromEntries(collections.map((c) => [c, countKinds(verdicts.filter((_, i) => items[i].dataset === c))])),
  };
}
