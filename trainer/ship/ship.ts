// `dermlens ship`: ships a finished training run: copies its best/ model into extension/model/ and writes
// model-card.json (machine-readable) and MODEL_CARD.md (for people) from the run's own files
// (config.json, split.json, history.json, metrics-detail.json, predictions.json), with the seed
// baseline run beside it. Every number in the card comes from those files; nothing is typed in.
//
//   npx dermlens ship --run runs/release --baseline runs/seed-baseline [--candidate runs/other ...] [--out extension/model]
//
// --candidate names other finished runs on the same split that were considered for shipping. The card
// lists them by their validation numbers, and the script refuses to ship a run that is not the best of
// them on validation balanced accuracy: the choice between runs is made on validation, never on test.
//
// An ensemble run (dermlens ensemble) ships like any run: its members' configs and histories are read
// from the member folders it names, and the card describes the members' shared recipe and seeds.
//
// A refit (dermlens train --refit-from <run>) ships with its reference run's validation numbers, which
// the card labels as the reference's: the refit trained on the validation images.
//
// --latency names `npm run bench:infer -- --model <run>/best --model <r4-fov> --backends wasm --repeat 5 --json`
// output: this run's model and the reference model (trainer/ship/latency.ts), measured in one run; the card
// reports the classify-time target as the ratio of their medians (machines differ too much for absolute targets).
//
// --weights float16 ships the run's best-float16/ copy (train --quantize float16) and takes every test
// number from that copy's own evaluation (metrics-detail.json "quantized", predictions-float16.json).
//
// The model shipped before (read from --out's model-card.json before it is replaced, or --previous) gets
// a row of its own on the same test split, and, without --baseline, its card's seed-baseline row is kept.
import { join, resolve } from 'node:path';
import { parseModelCard } from '../../core/model-card.ts';
import { readBaseline } from './baseline.ts';
import { readExternalCard } from './card-external.ts';
import { modelCardJson } from './card-json.ts';
import { cardMarkdown } from './card-markdown.ts';
import { readCandidates } from './candidates.ts';
import { installModel, writeCard } from './install.ts';
import { wasmLatency } from './latency.ts';
import { previousModelRow, readPreviousCard, replacedModelForExternal } from './previous-card.ts';
import { readShippedRun, readTraining, trainerCommits } from './read-run.ts';
import { backboneOf, readRefitReference, trainCommand } from './recipe.ts';
import { readRunReports } from './run-reports.ts';
import type { Shipment } from './shipment.ts';
import { modelSize, shippedModelDir, shippedNumbers, type Weights } from './shipped-weights.ts';
import { cardTargets } from './targets.ts';
import { testIntervals } from './test-intervals.ts';

export interface ShipOptions {
  /** The finished run (training run, refit or ensemble) whose model ships. */
  run: string;
  /** The seed-baseline run for the card's baseline row (default: the previous card's row). */
  baseline?: string;
  /** Other finished runs on the same split that were considered; the shipped run must lead them on validation. */
  candidates?: string[];
  /** bench:infer --json output measuring this run's model and the reference model (r4-fov) in one run. */
  latency?: string;
  /** Where the model ships (default extension/model). */
  out?: string;
  /** The previous model's model-card.json (default: <out>/model-card.json before it is replaced). */
  previous?: string;
  weights?: Weights;
  /**
   * Ship the run although a --candidate leads it on validation balanced accuracy, for this reason. The
   * deviation and its reason are printed in the card beside the candidates: the rule is still the default.
   */
  despite?: string;
}

/** Ships options.run into options.out: the model files, model-card.json and MODEL_CARD.md. Refuses (throws) a run that is not the best candidate on validation, a different split, a missing file. */
export async function ship(
  options: ShipOptions,
  log: (line: string) => void = console.log,
): Promise<{ outDir: string; modelDir: string; targets: Array<[string, boolean, string]> }> {
  const runDir = resolve(options.run);
  const outDir = resolve(options.out ?? 'extension/model');
  const { weights, modelDir } = shippedModelDir(runDir, options.weights);

  // Everything is read and checked before anything is written: a refused ship leaves the out folder as it was.
  const { config, split, clinicalTraining, detail, modelJson } = await readShippedRun(runDir, modelDir);
  const previous = await readPreviousCard(resolve(options.previous ?? join(outDir, 'model-card.json')));
  const baseline = await readBaseline(options.baseline, previous, split);
  const previousModel = previousModelRow(previous, runDir, split);
  // Runs trained with --extra-data: the external validation set, beside the replaced model's on the same images.
  const externalCard = await readExternalCard(
    runDir,
    config,
    detail.external,
    split.external,
    await replacedModelForExternal(previous, previousModel, runDir),
    log,
  );
  const training = await readTraining(runDir, config);
  const refit = await readRefitReference(config);
  const backbone = backboneOf(training.recipe);
  const choice = await readCandidates({ runDir, training, detail }, options.candidates, options.despite, split);
  const commits = await trainerCommits(runDir, training, refit?.dir ?? null);
  const size = await modelSize(modelDir, modelJson);
  const numbers = shippedNumbers(runDir, detail, weights);
  const intervals = await testIntervals(runDir, weights, numbers, split.source);
  const latency = options.latency ? await wasmLatency(options.latency, modelDir) : null;
  const { gate, fieldOfView } = await readRunReports(runDir, modelDir, modelJson);

  const shipment: Shipment = {
    runDir,
    weights,
    config,
    split,
    clinicalTraining,
    detail,
    training,
    refit,
    backbone,
    baseline,
    previousModel,
    externalCard,
    ...choice,
    ...commits,
    ...size,
    ...numbers,
    intervals,
    trainCommand: trainCommand(config, training, refit, backbone),
    latency,
    gate,
    fieldOfView,
  };
  const card = modelCardJson(shipment);
  parseModelCard(card); // the extension must be able to read it
  const targets = cardTargets(shipment);
  const markdown = cardMarkdown(shipment, card, targets);

  await installModel(modelDir, outDir);
  await writeCard(outDir, card, markdown);
  log(`shipped ${modelDir} -> ${outDir} (${(size.weightBytes / 1e6).toFixed(2)} MB), model-card.json and MODEL_CARD.md written`);
  for (const [t, ok, v] of targets) log(`  ${ok ? 'MET ' : 'MISS'} ${t}: ${v}`);
  return { outDir, modelDir, targets };
}
