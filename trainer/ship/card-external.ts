// The model card's "other institutions" parts, for runs trained with --extra-data: where the training
// images came from (sources.json) and the external validation set (never trained on), whole and per
// collection, with 95% bootstrap intervals on balanced accuracy and the melanoma alert at the threshold
// chosen on HAM10000 validation. Kept apart from card-markdown.ts' template so each part of the card reads alone.
import { CLASS_CODES } from '../../core/labels.ts';
import { argmax, type Metrics } from '../../core/metrics.ts';
import { tf } from '../../core/tf.ts';
import { metadataInputShape, readMetadata } from '../../core/classifier.ts';
import { loadDataset, concatDatasets } from '../data/dataset.ts';
import { readRunSources } from '../data/run-sources.ts';
import { initBackend } from '../backends/select.ts';
import { bootstrapInterval, presentClassesBalancedAccuracy } from '../evaluate/bootstrap.ts';
import { scoreExternal, type ExternalEvaluation } from '../evaluate/external.ts';
import { predictDataset } from '../evaluate/predict.ts';
import type { TrainConfig } from '../run/config.ts';
import { readJsonIfExists } from '../run/json.ts';
import { runPaths } from '../run/layout.ts';
import { fileLoadHandler } from '../run/model-files.ts';
import { readPredictions } from '../run/files.ts';
import { num, pct } from './card-format.ts';

export interface ExternalPredictions {
  imageIds: string[];
  labels: number[];
  collections: string[];
  probs: number[][];
}

export interface SourcesManifest {
  external: string[];
  sources: Array<{ name: string; listed: number; droppedSquashed: number; counts: Record<string, Record<string, number>> }>;
}

/** What model-card.json records of the external set (the extension's "About the model" and the next card read it). */
export interface ExternalCardJson {
  collections: string[];
  rows: Array<{
    name: string;
    n: number;
    balancedAccuracy: number;
    interval: [number, number];
    macroAuc: number | null;
    ece: number;
    recall: Record<string, number>;
    melanomaAlert: { recall: number; precision: number; flagged: number } | null;
  }>;
}

const present = (m: Metrics) => m.classes.filter((c) => m.perClass[c].support > 0);

/** The external rows (all, then each collection) with intervals from the run's external predictions. */
export function externalRows(external: ExternalEvaluation, predictions: ExternalPredictions): ExternalCardJson {
  const predicted = predictions.probs.map((p) => argmax(p));
  const rowsOf = (name: string) =>
    predictions.imageIds.map((_, i) => i).filter((i) => name === 'all' || predictions.collections[i] === name);
  const row = (name: string, m: Metrics, alert: ExternalCardJson['rows'][number]['melanomaAlert']) => {
    const rows = rowsOf(name);
    if (rows.length !== m.n) throw new Error(`predictions.json has ${rows.length} external images of ${name}, metrics-detail.json ${m.n}`);
    // Images are resampled: ph2 has one image per lesion, and msk's few multi-image lesions are not marked here.
    const ci = bootstrapInterval(rows.length, (sample) =>
      presentClassesBalancedAccuracy(
        predictions.labels,
        predicted,
        CLASS_CODES.length,
        Array.from(sample, (k) => rows[k]),
      ),
    );
    return {
      name,
      n: m.n,
      balancedAccuracy: m.balancedAccuracy,
      interval: [ci.low, ci.high] as [number, number],
      macroAuc: m.macroAuc,
      ece: m.ece,
      recall: Object.fromEntries(present(m).map((c) => [c, m.perClass[c].recall])),
      melanomaAlert: alert,
    };
  };
  return {
    collections: Object.keys(external.byCollection),
    rows: [
      row('all', external.all, external.melanomaAlert),
      ...Object.entries(external.byCollection).map(([name, m]) => row(name, m, external.melanomaAlertByCollection[name] ?? null)),
    ],
  };
}

/** Markdown: the data sources (when the run used several) and the external validation table, beside the previous model's where its card has one. */
export function externalMarkdown(
  json: ExternalCardJson,
  sources: SourcesManifest | null,
  previous: { name: string; external?: ExternalCardJson } | null,
): string {
  const classes = [...new Set(json.rows.flatMap((r) => Object.keys(r.recall)))];
  const sourceLines = sources
    ? sources.sources
        .map((s) => {
          const total = (side: string) => Object.values(s.counts[side] ?? {}).reduce((a, b) => a + b, 0);
          return `| ${s.name} | ${s.listed} | ${total('train')} | ${total('val')} | ${total('test')} | ${total('external')} | ${total('excluded') + s.droppedSquashed} |`;
        })
        .join('\n')
    : '';
  const line = (model: string, r: ExternalCardJson['rows'][number]) =>
    `| ${model} | ${r.name} (${r.n}) | ${num(r.balancedAccuracy)} (${num(r.interval[0])}-${num(r.interval[1])}) | ${classes.map((c) => (r.recall[c] === undefined ? '-' : num(r.recall[c]))).join(' | ')} | ${num(r.macroAuc)} | ${num(r.ece)} | ${r.melanomaAlert ? `${pct(r.melanomaAlert.recall)} / ${pct(r.melanomaAlert.precision)}` : 'n/a'} |`;
  return `${
    sources
      ? `### Data sources
| source | listed | train | validation | test | external validation | left out |
|---|---|---|---|---|---|---|
${sourceLines}

The HAM10000 split is the one a run on HAM10000 alone draws. Extra images without a lesion id are grouped with
their near-duplicates (trainer/data/picture-hash.ts), and a group holding an external image trains nowhere.

`
      : ''
  }## Dermoscopic images of other institutions (external validation, never trained on)
Collections ${json.collections.join(', ')} of isic-extra: other clinics, other dermoscopes, many with a round field of view.
Scored once at the end of training with the settings chosen on HAM10000 validation (float32 weights), the melanoma
alert at its validation threshold. Balanced accuracy is the mean recall of the classes each collection has, with a 95%
bootstrap interval (images resampled).

| model | images | balanced accuracy (95% CI) | ${classes.map((c) => `${c} recall`).join(' | ')} | macro AUC | ECE | melanoma alert recall / precision |
|---|---|---|${classes.map(() => '---|').join('')}---|---|---|
${json.rows.map((r) => line('**this model**', r)).join('\n')}
${previous?.external ? previous.external.rows.map((r) => line(previous.name, r)).join('\n') + '\n' : ''}
`;
}

/**
 * The run's external rows and sources for the card, or null for a run without an external set. When the
 * model being replaced (`previousModelJson`, the card's neighbour in extension/model/) has no external
 * numbers of its own, it is scored here on the same external images with its own settings, so the card
 * compares the two models on one set.
 */
export async function readExternalCard(
  runDir: string,
  config: Pick<TrainConfig, 'dataDir' | 'extraData' | 'external' | 'dropSquashed' | 'size'>,
  external: ExternalEvaluation | undefined,
  externalIds: string[] | undefined,
  previous: { name: string; external?: ExternalCardJson; modelJson: string } | null,
  log: (line: string) => void,
): Promise<{
  json: ExternalCardJson;
  sources: SourcesManifest | null;
  previous: { name: string; external?: ExternalCardJson } | null;
} | null> {
  if (!external || !externalIds?.length) return null;
  const predictions = await readPredictions(runPaths(runDir).predictions, 'ship');
  if (!predictions?.external)
    throw new Error(
      `${runPaths(runDir).predictions} has no external predictions: redo the final evaluation (dermlens train --out ${runDir} --resume)`,
    );
  const json = externalRows(external, predictions.external);
  const sources = (await readJsonIfExists<SourcesManifest>(runPaths(runDir).sources)) ?? null;
  if (!previous || previous.external) return { json, sources, previous };
  log(`scoring the replaced model (${previous.name}) on the ${externalIds.length} external images`);
  // ship itself needs no backend; scoring does (tfjs-node where built, else wasm, as the CLI picks it).
  await initBackend('auto', { allowCpuForTraining: true, log: () => {} });
  const runSources = await readRunSources(config, () => {});
  const wanted = new Set(externalIds);
  const model = await tf.loadLayersModel(fileLoadHandler(previous.modelJson));
  try {
    const metadata = readMetadata(model);
    const parts = [];
    for (const { dir, items } of runSources.perFolder) {
      const mine = items.filter((i) => wanted.has(i.imageId));
      if (mine.length) parts.push(await loadDataset({ images: mine, imageDir: dir, size: metadataInputShape(metadata) }));
    }
    const ds = concatDatasets(parts);
    const probs = await predictDataset(
      model,
      ds,
      ds.items.map((_, i) => i),
      { temperature: metadata.temperature, tta: metadata.tta },
    );
    const theirs = scoreExternal(ds.items, probs, metadata.melanomaThreshold);
    const theirPredictions = {
      imageIds: ds.items.map((i) => i.imageId),
      labels: ds.items.map((i) => i.label),
      collections: ds.items.map((i) => i.dataset ?? i.source ?? ''),
      probs: probs.map((p) => Array.from(p)),
    };
    return { json, sources, previous: { name: previous.name, external: externalRows(theirs, theirPredictions) } };
  } finally {
    model.dispose();
  }
}
