// The `dermlens` commands: train, evaluate, classify, report, ensemble (trainer/cli/main.ts runs main()). Every user
// mistake (bad flag, missing file, bad CSV row) ends with one clear "dermlens: ..." line and exit code 1,
// no stack trace (set DERMLENS_DEBUG=1 to see one).
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { homedir } from 'node:os';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { BackendPreference } from '../backends/select.ts';
import { DEFAULT_TRAIN_CONFIG, QUANTIZATIONS, type TrainConfig } from '../run/config.ts';
import { runPaths } from '../run/layout.ts';
import { formatInputSize } from '../../core/preprocess.ts';
import { metadataInputShape } from '../../core/model-metadata.ts';
import { describeImageKinds, verdictLine, verdictWarning } from './verdict-text.ts';
import { configFromFlags, flagsHelp, FlagError, nonRefitFlags, parseOptions } from '../run/train-flags.ts';

export const DEFAULT_MODEL = 'extension/model/model.json';

class UsageError extends Error {}

const TRAIN_HELP = `Usage: dermlens train --data <dir> --out <dir> [options]

Trains a 7-class skin-lesion classifier on HAM10000 (HAM10000_metadata.csv in --data, images anywhere
below it). Writes to --out: config.json, split.json (lesion-grouped), history.json, checkpoint/ (every
epoch), best/ (best val balanced accuracy, TF.js layers model), metrics.json (test), report.html.

${flagsHelp()}
`;

const SHIP_HELP = `Usage: dermlens ship --run <dir> [--weights float32|float16] [--latency <bench.json>] [--candidate <run> ...]
                     [--despite <reason>] [--baseline <run>] [--previous <model-card.json>] [--out extension/model]

Replaces the extension's model with a finished run's: copies best/ (or best-float16/) into --out and writes
model-card.json and MODEL_CARD.md from the run's own files, beside the model shipped before it on the same
test split. Refuses a run that does not lead the --candidate runs on validation balanced accuracy.

  --run <dir>          the finished run to ship (training run, refit or ensemble)
  --weights <w>        float32 (best/) | float16 (best-float16/, evaluated by the trainer) (default float32)
  --latency <file>     npm run bench:infer -- --model <run>/best --model <r4-fov> --backends wasm --json output
                       (the budget: at most 4x r4-fov's classify time; its weights: mkdir -p runs/r4-fov &&
                       git archive 62558c9 extension/model | tar -x -C runs/r4-fov, then runs/r4-fov/extension/model)
  --candidate <run>    another finished run that was considered (repeatable)
  --despite <reason>   ship the run although a candidate leads it on validation; the card prints the reason
  --baseline <run>     the seed-baseline run (default: the previous card's baseline row)
  --previous <file>    the previous model's model-card.json (default: <out>/model-card.json)
  --out <dir>          where the model ships (default extension/model)
`;

const EVALUATE_HELP = `Usage: dermlens evaluate --model <dir|model.json> --data <imagesDir> --labels <csv> [--collection <names>] [--json <file>] [--tta]

Scores a model on labelled images (HAM10000 metadata CSV, ISIC 2018 Task 3 ground truth, a labels.csv
like isic-extra's, or a clinical-photo folder's metadata.csv like PAD-UFES-20's: its photos with a
DermLens class, collections patients-train / patients-val / patients-heldout as fit-gate and
--extra-data deal them). Listed images that are missing or unreadable are reported and skipped.

  --model <path>     model folder or model.json
  --data <dir>       image folder (searched recursively)
  --labels <csv>     labels file
  --collection <c>   only these collections (comma-separated), e.g. msk or patients-heldout
  --json <file>      also write the metrics as JSON
  --tta              average with the horizontally flipped image (default: as stored in the model)
  --no-tta           never average
  --backend <b>      auto | tensorflow | wasm | cpu (default auto)
`;

const CLASSIFY_HELP = `Usage: dermlens classify <image...> [--model <dir|model.json>] [--json]

Prints the class probabilities for each image. Default model: ${DEFAULT_MODEL}.
With a model that has the gate (dermlens fit-gate), each image gets its kind: dermoscopic (a dermoscopic
image of a skin lesion), clinical (an ordinary photo of skin, taken without a dermatoscope) or other (not
skin; a model fitted before the three-way gate says dermoscopic or other only), and a WARNING line when it
is not dermoscopic. --json gives every image "imageKind", "dermoscopic" (true only for dermoscopic),
"dermoscopyScore" (P(dermoscopic)) and "clinicalScore" (P(clinical) / (P(clinical) + P(other)), null for
the older gate); all are null for a model without the gate.

  --model <path>     model folder or model.json
  --json             one JSON object per image instead of a table
  --backend <b>      auto | tensorflow | wasm | cpu (default auto)
`;

const REPORT_HELP = `Usage: dermlens report --run <dir> [--backend <b>] [--cache-dir <dir>]

(Re)writes <dir>/report.html from a run folder: works during training (curves so far) and for runs
that finished before predictions.json existed (their val/test predictions are recomputed from best/).
`;

const IMPORT_BACKBONE_HELP = `Usage: dermlens import-backbone <model.tflite> --out <dir>

Converts a TFLite image classifier (e.g. MobileNetV2 1.0 ImageNet, uint8 per-tensor or int8
per-channel) into a TF.js layers model with float32 weights, for dermlens train --backbone <dir>.
Checks the file's sha256 against the files DermLens was tested with and says which one it is.
Writes <dir>/model.json, its weight shards and backbone.json (source file, sha256, ops, quantization).
The ImageNet classifier stays in the converted model (its 1001 logits are the last layers).

  --out <dir>        folder for the converted backbone (required)
  --backend <b>      auto | tensorflow | wasm | cpu (default auto)
`;

const FIT_GATE_HELP = `Usage: dermlens fit-gate --run <dir> --ood <dir> --clinical <dir> [--compare <run> ...] [--cache-dir <dir>]

Trains the image-kind gate of a finished run: a softmax over dermoscopic / clinical / other on the
network's pooled features (the last conv's and, in a MobileNetV2, blocks 5, 9 and 12's; multinomial
logistic regression), with the run's training images of every
source as dermoscopic, the training patients' photos of a clinical skin-photo folder as clinical
(PAD-UFES-20's layout: metadata.csv with patient_id, img_id; images/; patients dealt 60/20/20 to train /
val / heldout by a hash of their id) and the 'train' part of a non-dermoscopic image set as other
(scripts/build-ood-set.ts writes one, with manifest.csv: file, source, split = train | val | heldout).
P(dermoscopic)'s threshold is the highest that flags at most 1% of the HAM10000 validation images;
the clinical-or-other threshold is chosen on the validation photos and images. The held-out parts
(HAM10000 test, the run's external collections, the held-out patients, the held-out non-dermoscopic
images) are then scored once, per source. Writes the gate into <run>/best/ and the quantized copy as the
models' second output, and <run>/gate.json.

  --run <dir>        a finished training run (dermlens train)
  --ood <dir>        the non-dermoscopic image set (its manifest.csv)
  --clinical <dir>   clinical photos of skin lesions, e.g. ../shared/pad-ufes-20
  --compare <run>    another finished run whose classifier is scored on the same held-out phone photos
                     (prepared at its own input size), e.g. the same recipe with phone photos in training
                     (repeatable); the model card shows them side by side
  --cache-dir <dir>  the HAM10000 pixel cache (default ~/.cache/dermlens)
  --backend <b>      auto | tensorflow | wasm | cpu (default auto)
`;

const MAIN_HELP = `Usage: dermlens <command> [options]

Commands:
  train       train a model on HAM10000 (dermlens train --help)
  import-backbone  convert a pretrained TFLite MobileNetV2 for --backbone (dermlens import-backbone --help)
  evaluate    score a model on labelled images (dermlens evaluate --help)
  classify    classify image files (dermlens classify --help)
  explain     write an image with a heatmap of where the model looked (dermlens explain --help)
  report      write the HTML report of a run folder (dermlens report --help)
  fit-gate    train the "not a dermoscopic image" gate of a finished run (dermlens fit-gate --help)
  ensemble    merge finished runs into one model that averages them (dermlens ensemble --help)
  ship        replace the extension's model with a finished run's, with its model card (dermlens ship --help)

Not a medical device: for research and education only.
`;

const ENSEMBLE_HELP = `Usage: dermlens ensemble --member <run> --member <run> [...] --out <dir> [--tta] [--quantize <q>]

Merges the best/ networks of finished training runs (same split, same input size; functional
architectures such as compact) into one TF.js model that averages their class probabilities. Then,
exactly as at the end of a training run, fits the temperature, chooses the flip mode and the melanoma
threshold on validation, evaluates test once, and writes a run folder: config.json, split.json, best/,
metrics.json, metrics-detail.json, predictions.json, report.html. Classify time grows with the number
of members (npm run bench:infer -- --model <out>/best).

  --member <run>     a finished training run (give two or more)
  --out <dir>        the ensemble's run folder (not a training run or a finished ensemble; an
                     interrupted ensemble there is made again)
  --tta              also evaluate with flip averaging; keep it if it helps on val
  --quantize <q>     ${QUANTIZATIONS.join(' | ')}: also export best-<q>/ (default none)
  --data <dir>       dataset folder (default: the first member's)
  --backend <b>      auto | tensorflow | wasm | cpu (default auto)
  --cache-dir <dir>  decoded-image cache (default ~/.cache/dermlens; --no-cache to disable)
`;

type Values = Record<string, string | boolean | undefined>;

function parse(args: string[], options: ParseArgsConfig['options'], allowPositionals = false): { values: Values; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({
      args,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals,
      strict: true,
      allowNegative: true,
    } as ParseArgsConfig);
    return { values: values as Values, positionals };
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/\. To specify a positional argument.*$/, ''));
  }
}

const str = (values: Values, flag: string) => (typeof values[flag] === 'string' ? (values[flag] as string) : undefined);

async function startBackend(values: Values, forTraining: boolean): Promise<string> {
  const { initBackend, isBackendPreference } = await import('../backends/select.ts');
  const preference = str(values, 'backend') ?? 'auto';
  if (!isBackendPreference(preference)) throw new UsageError(`unknown --backend "${preference}" (choose auto, tensorflow, wasm or cpu)`);
  // Asking for cpu by name is consent; 'auto' never falls back to it for training.
  const info = await initBackend(preference as BackendPreference, {
    allowCpuForTraining: preference === 'cpu' || !forTraining,
    log: (line) => console.log(line),
  });
  return info.description;
}

/** --cache-dir, else DERMLENS_CACHE_DIR, else ~/.cache/dermlens; undefined with --no-cache. */
function cacheDirOf(values: Values): string | undefined {
  if (values.cache === false) return undefined;
  return resolve(str(values, 'cache-dir') ?? process.env.DERMLENS_CACHE_DIR ?? join(homedir(), '.cache', 'dermlens'));
}

async function trainCommand(args: string[]): Promise<void> {
  const { values } = parse(args, parseOptions());
  if (values.help) {
    process.stdout.write(TRAIN_HELP);
    return;
  }
  const outDir = str(values, 'out');
  if (!outDir) throw new UsageError('--out <dir> is required (the run folder)');
  const resume = values.resume === true;
  const refitFrom = str(values, 'refit-from');
  if (refitFrom) {
    const recipeFlags = nonRefitFlags(Object.keys(values));
    if (recipeFlags.length)
      throw new UsageError(`--refit-from repeats ${refitFrom}'s recipe unchanged; drop ${recipeFlags.map((f) => `--${f}`).join(', ')}`);
    if (resume) throw new UsageError('to resume a refit, pass --resume --out <dir> alone (its config.json names the reference run)');
  }

  // A resumed run starts from its saved config; flags given now override it (and are checked for conflicts).
  let base: Partial<TrainConfig> = { ...DEFAULT_TRAIN_CONFIG };
  if (refitFrom) {
    const { loadRefitReference, refitConfig } = await import('../train/refit.ts');
    base = refitConfig((await loadRefitReference(refitFrom)).config, refitFrom, outDir, str(values, 'data'));
  } else if (resume) {
    const { readTrainConfig } = await import('../run/files.ts');
    try {
      base = await readTrainConfig(outDir, 'cannot resume');
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  }
  let config: TrainConfig;
  try {
    config = configFromFlags(values, base) as TrainConfig;
  } catch (err) {
    if (err instanceof FlagError) throw new UsageError(err.message);
    throw err;
  }
  if (!config.dataDir) throw new UsageError('--data <dir> is required (the folder with HAM10000_metadata.csv and the images)');
  const { validateConfig } = await import('../run/config.ts');
  try {
    validateConfig(config);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const backend = await startBackend(values, true);
  const cacheDir = cacheDirOf(values);
  const { train } = await import('../train/train.ts');
  const started = Date.now();
  const result = await train(config, { resume, cacheDir, backend });
  const kept = config.refitFrom
    ? `last epoch ${result.bestEpoch} (a refit: no validation score of its own)`
    : `best epoch ${result.bestEpoch} (${config.selectOn === 'val+external' ? 'mean of val and external balanced accuracy' : 'val balanced accuracy'} ${result.bestValBalancedAccuracy.toFixed(4)})`;
  console.log(`done in ${((Date.now() - started) / 60000).toFixed(1)} min: ${kept}; model in ${runPaths(config.outDir).best}`);
}

async function evaluateCommand(args: string[]): Promise<void> {
  const { values } = parse(args, {
    model: { type: 'string' },
    data: { type: 'string' },
    labels: { type: 'string' },
    collection: { type: 'string' },
    json: { type: 'string' },
    tta: { type: 'boolean' },
    backend: { type: 'string' },
  });
  if (values.help) {
    process.stdout.write(EVALUATE_HELP);
    return;
  }
  for (const flag of ['model', 'data', 'labels']) {
    if (!str(values, flag)) throw new UsageError(`--${flag} is required (dermlens evaluate --help)`);
  }
  await startBackend(values, false);
  const { evaluateModel, formatMetrics, metricsJson } = await import('../evaluate/evaluate-model.ts');
  const result = await evaluateModel({
    model: str(values, 'model')!,
    imageDir: str(values, 'data')!,
    labelsPath: str(values, 'labels')!,
    tta: typeof values.tta === 'boolean' ? values.tta : undefined,
    collections: str(values, 'collection')
      ?.split(',')
      .map((c) => c.trim())
      .filter(Boolean),
  });
  console.log(
    `model ${result.modelPath} (${result.metadata.arch}, ${formatInputSize(metadataInputShape(result.metadata))} px, temperature ${result.inference.temperature.toFixed(3)}, tta ${result.inference.tta})`,
  );
  if (result.skipped.length) {
    console.log(`skipped ${result.skipped.length} listed image(s):`);
    for (const s of result.skipped) console.log(`  ${s.imageId}: ${s.reason}`);
  }
  if (result.gate) for (const line of describeImageKinds(result.gate)) console.log(line);
  const alert = result.breakdown.melanomaAlert;
  if (alert)
    console.log(
      `melanoma alert (P(mel) >= ${result.metadata.melanomaThreshold?.toFixed(3)}): catches ${(100 * alert.recall).toFixed(1)}% of the melanomas at precision ${(100 * alert.precision).toFixed(1)}%, fires on ${(100 * alert.flagged).toFixed(1)}% of the ${result.metrics.n} images`,
    );
  const collections = Object.entries(result.breakdown.byCollection).filter(([name]) => name !== 'all');
  for (const [name, m] of collections.length > 1 ? collections : []) {
    const a = result.breakdown.melanomaAlertByCollection[name];
    console.log(
      `  ${name}: ${m.n} images, balanced accuracy ${m.balancedAccuracy.toFixed(3)}, macro AUC ${m.macroAuc?.toFixed(3) ?? 'n/a'}` +
        (a ? `, melanoma alert recall ${a.recall.toFixed(3)} precision ${a.precision.toFixed(3)}` : ''),
    );
  }
  const present = result.presentClasses;
  console.log(
    `balanced accuracy over the ${present.classes.length} classes present (${present.classes.join(', ')}): ${present.balancedAccuracy.toFixed(3)} ` +
      `(95% CI ${present.interval.low.toFixed(3)}-${present.interval.high.toFixed(3)}, drawn by lesion), chance ${(1 / present.classes.length).toFixed(3)}`,
  );
  console.log('');
  console.log(formatMetrics(result.metrics));
  const jsonPath = str(values, 'json');
  if (jsonPath) {
    await mkdir(dirname(resolve(jsonPath)), { recursive: true });
    await writeFile(jsonPath, `${JSON.stringify(metricsJson(result.metrics), null, 1)}\n`);
    console.log(`\nwrote ${jsonPath}`);
  }
}

async function classifyCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { model: { type: 'string' }, json: { type: 'boolean' }, backend: { type: 'string' } }, true);
  if (values.help) {
    process.stdout.write(CLASSIFY_HELP);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError('give at least one image file (dermlens classify --help)');
  const modelArg = str(values, 'model') ?? DEFAULT_MODEL;
  const { resolveModelJson } = await import('../evaluate/evaluate-model.ts');
  let modelPath: string;
  try {
    modelPath = await resolveModelJson(modelArg);
  } catch (err) {
    throw new UsageError(
      values.model
        ? (err as Error).message
        : `no shipped model at ${DEFAULT_MODEL} yet; train one (dermlens train) and pass --model <run>/best`,
    );
  }
  // The repository ships an untrained development model until a trained one replaces it: say so.
  const card = await readFile(join(dirname(modelPath), 'model-card.json'), 'utf8').then(
    (t) => JSON.parse(t) as { untrained?: boolean },
    () => null,
  );
  if (card?.untrained) console.error(`warning: ${modelPath} is an UNTRAINED development model (model-card.json); its output means nothing`);
  await startBackend(values, false);
  const { load } = await import('../../core/classifier.ts');
  const { lesionResult } = await import('../../core/lesion-result.ts');
  const { classifiedRecord } = await import('../../core/classify-record.ts');
  const { preprocess } = await import('../../core/preprocess.ts');
  const { fileLoadHandler } = await import('../run/model-files.ts');
  const { decodeImage, ImageDecodeError } = await import('../data/images.ts');
  const classifier = await load(fileLoadHandler(modelPath));
  const threshold = classifier.metadata.melanomaThreshold;
  let failures = 0;
  try {
    for (const file of positionals) {
      try {
        const [{ probabilities, dermoscopy }] = await classifier.assessInputs([preprocess(await decodeImage(file), classifier.inputShape)]);
        const { predictions, melanomaAlert: alert } = lesionResult(probabilities, threshold);
        if (values.json) {
          console.log(JSON.stringify(classifiedRecord(file, predictions, alert, dermoscopy)));
        } else {
          console.log(`${file}`);
          if (dermoscopy) console.log(`  ${verdictLine(dermoscopy)}`);
          if (dermoscopy && !dermoscopy.dermoscopic)
            console.log(`  WARNING: ${verdictWarning(dermoscopy)} The classes below are not a reading of it.`);
          for (const p of predictions) console.log(`  ${p.code.padEnd(6)} ${(p.probability * 100).toFixed(1).padStart(5)}%  ${p.name}`);
          if (alert)
            console.log(`  MELANOMA ALERT: melanoma probability at or above this model's alert level (${(threshold! * 100).toFixed(1)}%)`);
        }
      } catch (err) {
        failures++;
        // The shared refusal (core/image-check.ts), word for word the extension's; the line names the file.
        const message = err instanceof ImageDecodeError ? err.reason : (err as Error).message;
        if (values.json) console.log(JSON.stringify({ file, error: message }));
        else console.error(`${file}: ${message}`);
      }
    }
  } finally {
    classifier.dispose();
  }
  if (!values.json)
    console.log('\nNot a diagnosis: for research and education only. See a dermatologist about any lesion that worries you.');
  return failures ? 1 : 0;
}

async function reportCommand(args: string[]): Promise<void> {
  const { values } = parse(args, { run: { type: 'string' }, backend: { type: 'string' }, 'cache-dir': { type: 'string' } });
  if (values.help) {
    process.stdout.write(REPORT_HELP);
    return;
  }
  const runDir = str(values, 'run');
  if (!runDir) throw new UsageError('--run <dir> is required (dermlens report --help)');
  const { exists } = await import('../run/json.ts');
  const needsModel = (await exists(runPaths(runDir).metricsDetail)) && !(await exists(runPaths(runDir).predictions));
  const backend = needsModel ? await startBackend(values, false) : undefined;
  const { writeRunReport } = await import('../evaluate/run-report.ts');
  const path = await writeRunReport(resolve(runDir), {
    recompute: needsModel,
    backend,
    cacheDir: cacheDirOf(values),
  });
  console.log(`wrote ${path}`);
}

async function ensembleCommand(args: string[]): Promise<void> {
  const { values } = parse(args, {
    member: { type: 'string', multiple: true },
    out: { type: 'string' },
    tta: { type: 'boolean' },
    quantize: { type: 'string' },
    data: { type: 'string' },
    backend: { type: 'string' },
    'cache-dir': { type: 'string' },
    cache: { type: 'boolean' },
  });
  if (values.help) {
    process.stdout.write(ENSEMBLE_HELP);
    return;
  }
  const members = (values.member as unknown as string[] | undefined) ?? [];
  if (members.length < 2) throw new UsageError('give two or more --member <run> (dermlens ensemble --help)');
  const outDir = str(values, 'out');
  if (!outDir) throw new UsageError("--out <dir> is required (the ensemble's run folder)");
  const quantize = str(values, 'quantize') ?? 'none';
  if (!(QUANTIZATIONS as readonly string[]).includes(quantize))
    throw new UsageError(`unknown quantization "${quantize}" (choose one of: ${QUANTIZATIONS.join(', ')})`);
  const backend = await startBackend(values, false);
  const { buildEnsemble } = await import('../evaluate/ensemble.ts');
  const { final } = await buildEnsemble(
    { members, outDir, tta: values.tta === true, quantize: quantize as TrainConfig['quantize'], dataDir: str(values, 'data') },
    { cacheDir: cacheDirOf(values), backend },
  );
  console.log(`done: val balanced accuracy ${final.val.balancedAccuracy.toFixed(4)}; model in ${runPaths(resolve(outDir)).best}`);
}

async function fitGateCommand(args: string[]): Promise<void> {
  const { values } = parse(args, {
    run: { type: 'string' },
    ood: { type: 'string' },
    clinical: { type: 'string' },
    'cache-dir': { type: 'string' },
    cache: { type: 'boolean' },
    backend: { type: 'string' },
    compare: { type: 'string', multiple: true },
  });
  if (values.help) {
    process.stdout.write(FIT_GATE_HELP);
    return;
  }
  const runDir = str(values, 'run');
  const oodDir = str(values, 'ood');
  const clinicalDir = str(values, 'clinical');
  if (!runDir || !oodDir || !clinicalDir) {
    throw new UsageError('--run <dir>, --ood <dir> and --clinical <dir> are required (dermlens fit-gate --help)');
  }
  await startBackend(values, false);
  const { fitGate, describeGate } = await import('../train/fit-gate.ts');
  const report = await fitGate({
    runDir: resolve(runDir),
    oodDir: resolve(oodDir),
    clinicalDir: resolve(clinicalDir),
    cacheDir: cacheDirOf(values),
    compare: ((values.compare as string[] | undefined) ?? []).map((dir) => resolve(dir)),
  });
  for (const line of describeGate(report)) console.log(line);
  console.log(`wrote the gate into ${runPaths(resolve(runDir)).best} (and the quantized copy) and ${runPaths(resolve(runDir)).gate}`);
}

async function importBackboneCommand(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, { out: { type: 'string' }, backend: { type: 'string' } }, true);
  if (values.help) {
    process.stdout.write(IMPORT_BACKBONE_HELP);
    return;
  }
  if (positionals.length !== 1) throw new UsageError('give one .tflite file (dermlens import-backbone --help)');
  const outDir = str(values, 'out');
  if (!outDir) throw new UsageError('--out <dir> is required (the folder for the converted backbone)');
  await startBackend(values, false);
  const { importBackbone, describeBackbone } = await import('../model/backbone.ts');
  const info = await importBackbone(positionals[0], resolve(outDir));
  console.log(describeBackbone(info));
  console.log(`wrote ${resolve(outDir)} (model.json, weights, backbone.json)`);
}

async function shipCommand(args: string[]): Promise<void> {
  const { values } = parse(args, {
    run: { type: 'string' },
    baseline: { type: 'string' },
    candidate: { type: 'string', multiple: true },
    latency: { type: 'string' },
    out: { type: 'string' },
    previous: { type: 'string' },
    weights: { type: 'string' },
    despite: { type: 'string' },
  });
  if (values.help) {
    process.stdout.write(SHIP_HELP);
    return;
  }
  const run = str(values, 'run');
  if (!run) throw new UsageError('--run <dir> is required (dermlens ship --help)');
  const weights = str(values, 'weights') ?? 'float32';
  if (weights !== 'float32' && weights !== 'float16') throw new UsageError(`--weights ${weights}: choose float32 or float16`);
  const { ship } = await import('../ship/ship.ts');
  await ship({
    run,
    weights,
    baseline: str(values, 'baseline'),
    candidates: (values.candidate as unknown as string[] | undefined) ?? [],
    latency: str(values, 'latency'),
    out: str(values, 'out'),
    previous: str(values, 'previous'),
    despite: str(values, 'despite'),
  });
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'train':
        await trainCommand(rest);
        return 0;
      case 'evaluate':
        await evaluateCommand(rest);
        return 0;
      case 'classify':
        return await classifyCommand(rest);
      case 'explain':
        return await (await import('./explain.ts')).explainCommand(rest, DEFAULT_MODEL);
      case 'report':
        await reportCommand(rest);
        return 0;
      case 'ensemble':
        await ensembleCommand(rest);
        return 0;
      case 'fit-gate':
        await fitGateCommand(rest);
        return 0;
      case 'import-backbone':
        await importBackboneCommand(rest);
        return 0;
      case 'ship':
        await shipCommand(rest);
        return 0;
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(MAIN_HELP);
        return 0;
      default:
        throw new UsageError(`unknown command "${command}"\n\n${MAIN_HELP}`);
    }
  } catch (err) {
    if (process.env.DERMLENS_DEBUG) console.error(err);
    else console.error(`dermlens: ${(err as Error).message ?? String(err)}`);
    return 1;
  }
}
