// The `dermlens` commands: train, evaluate, classify, report, ensemble (trainer/cli.ts runs main()). Every user
// mistake (bad flag, missing file, bad CSV row) ends with one clear "dermlens: ..." line and exit code 1,
// no stack trace (set DERMLENS_DEBUG=1 to see one).
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { homedir } from 'node:os';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { ARCHITECTURES } from '../core/models.ts';
import type { BackendPreference } from './backend.ts';
import { DEFAULT_TRAIN_CONFIG, AUGMENT_NAMES, BALANCE_MODES, type TrainConfig } from './train-config.ts';
import { LR_SCHEDULES } from './schedule.ts';
import { QUANTIZATIONS } from './export-model.ts';

export const DEFAULT_MODEL = 'extension/model/model.json';

class UsageError extends Error {}

const d = DEFAULT_TRAIN_CONFIG;
const TRAIN_HELP = `Usage: dermlens train --data <dir> --out <dir> [options]

Trains a 7-class skin-lesion classifier on HAM10000 (HAM10000_metadata.csv in --data, images anywhere
below it). Writes to --out: config.json, split.json (lesion-grouped), history.json, checkpoint/ (every
epoch), best/ (best val balanced accuracy, TF.js layers model), metrics.json (test), report.html.

  --data <dir>            dataset folder (required)
  --out <dir>             run folder (required)
  --arch <name>           ${Object.entries(ARCHITECTURES).map(([k, v]) => `${k}: ${v.description}`).join('\n                          ')}
                          (default ${d.arch})
  --size <px>             input side in pixels (default ${d.size})
  --epochs <n>            (default ${d.epochs})
  --batch <n>             batch size (default ${d.batch})
  --seed <n>              seed for split, init, shuffling, augmentation, dropout (default ${d.seed})
  --split-seed <n>        seed for the split alone, when it must differ from --seed (another ensemble
                          member on the same split; default: --seed)
  --lr <x>                Adam learning rate (default ${d.lr})
  --lr-schedule <s>       ${LR_SCHEDULES.join(' | ')} (default ${d.lrSchedule})
  --warmup-epochs <n>     linear learning-rate warm-up (default ${d.warmupEpochs})
  --balance <mode>        none | weights (class-weighted loss) | sampling (class-balanced batches) (default ${d.balance})
  --label-smoothing <x>   0..1 (default ${d.labelSmoothing})
  --augment <name>        ${AUGMENT_NAMES.join(' | ')} (default ${d.augment})
  --ema <decay>           keep an exponential moving average of the weights (e.g. 0.999) and validate,
                          keep and ship the average instead of the last weights; 0 = off (default ${d.ema})
  --val-fraction <x>      (default ${d.valFraction})
  --test-fraction <x>     (default ${d.testFraction})
  --patience <n>          early stopping on val balanced accuracy; 0 = off (default ${d.patience})
  --backbone <path>       pretrained backbone for --arch mobilenetv2: a folder from dermlens import-backbone
                          or a MobileNetV2 .tflite file (converted on the fly); its sha256 goes in config.json
  --head-epochs <n>       first train the new head alone, the backbone frozen, for n epochs (default ${d.headEpochs})
  --freeze-until <k>      then keep the stem and blocks 0..k-1 frozen (0 = fine-tune everything; 17 = only
                          the last conv and the head; 18 = only the head) (default ${d.freezeUntil})
  --backbone-lr-scale <x> the backbone's learning rate as a fraction of --lr (default ${d.backboneLrScale})
  --backbone-norm <n>     folded (default: as published, BatchNorm folded into the convs, i.e. frozen at ImageNet
                          statistics) | batchnorm (re-added after every conv, initialised from a batch of training images)
  --weight-decay <x>      decoupled (AdamW) weight decay on kernels, per unit of learning rate (default ${d.weightDecay})
  --melanoma-recall <x>   the melanoma alert fires at the highest P(mel) threshold that catches this share of
                          the validation melanomas (default 0.85); may change on --resume (redoes the final evaluation)
  --tta                   also evaluate with horizontal-flip averaging; ship it if it helps on val
  --quantize <q>          ${QUANTIZATIONS.join(' | ')}: also export best-<q>/ with quantized weights (default ${d.quantize})
  --backend <b>           auto | tensorflow | wasm | cpu (default auto: tfjs-node, else wasm)
  --cache-dir <dir>       decoded-image cache (default ~/.cache/dermlens; --no-cache to disable)
  --resume                continue the run in --out from its last checkpoint (flags not given are taken
                          from its config.json; training settings must match)
  --refit-from <run>      train <run>'s recipe again, unchanged, on its train + validation images and keep
                          the last epoch; flip mode, temperature, melanoma threshold and the validation
                          numbers are <run>'s (nothing held out is left to fit them on). Test stays unseen.
                          Takes no recipe flags: only --data, --out, --backend, --cache-dir, --resume
`;

const EVALUATE_HELP = `Usage: dermlens evaluate --model <dir|model.json> --data <imagesDir> --labels <csv> [--json <file>] [--tta]

Scores a model on labelled images (HAM10000 metadata CSV or ISIC 2018 Task 3 ground truth). Listed
images that are missing or unreadable are reported and skipped.

  --model <path>     model folder or model.json
  --data <dir>       image folder (searched recursively)
  --labels <csv>     labels file
  --json <file>      also write the metrics as JSON
  --tta              average with the horizontally flipped image (default: as stored in the model)
  --no-tta           never average
  --backend <b>      auto | tensorflow | wasm | cpu (default auto)
`;

const CLASSIFY_HELP = `Usage: dermlens classify <image...> [--model <dir|model.json>] [--json]

Prints the class probabilities for each image. Default model: ${DEFAULT_MODEL}.
With a model that has the dermoscopy gate (dermlens fit-gate), an image that does not look like a
dermoscopic image of a skin lesion gets a WARNING line; --json gives every image "dermoscopic"
(true/false) and "dermoscopyScore" (P(dermoscopic)); both are null for a model without the gate.

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

const FIT_GATE_HELP = `Usage: dermlens fit-gate --run <dir> --ood <dir> [--cache-dir <dir>]

Trains the "is this a dermoscopic image?" gate of a finished run: a logistic regression on the network's
pooled features, HAM10000 training images against the 'train' part of a non-dermoscopic image set
(scripts/build-ood-set.ts writes one, with manifest.csv: file, source, split = train | val | heldout).
The threshold is the highest that flags at most 1% of the HAM10000 validation images; the held-out
non-dermoscopic images and the HAM10000 test split are then scored once (per source, per class).
Writes the gate into <run>/best/ and the quantized copy as the models' second output, and <run>/gate.json.

  --run <dir>        a finished training run (dermlens train)
  --ood <dir>        the non-dermoscopic image set (its manifest.csv)
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
    const { values, positionals } = parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals, strict: true, allowNegative: true } as ParseArgsConfig);
    return { values: values as Values, positionals };
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/\. To specify a positional argument.*$/, ''));
  }
}

function num(values: Values, flag: string): number | undefined {
  const raw = values[flag];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${flag} expects a number, got ${JSON.stringify(raw)}`);
  return n;
}

const str = (values: Values, flag: string) => (typeof values[flag] === 'string' ? (values[flag] as string) : undefined);

async function startBackend(values: Values, forTraining: boolean): Promise<string> {
  const { initBackend, isBackendPreference } = await import('./backend.ts');
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
  const { values } = parse(args, {
    data: { type: 'string' }, out: { type: 'string' }, arch: { type: 'string' }, size: { type: 'string' },
    epochs: { type: 'string' }, batch: { type: 'string' }, seed: { type: 'string' }, 'split-seed': { type: 'string' }, lr: { type: 'string' },
    'lr-schedule': { type: 'string' }, 'warmup-epochs': { type: 'string' }, balance: { type: 'string' },
    'label-smoothing': { type: 'string' }, augment: { type: 'string' }, ema: { type: 'string' }, 'val-fraction': { type: 'string' },
    'test-fraction': { type: 'string' }, patience: { type: 'string' }, tta: { type: 'boolean' },
    quantize: { type: 'string' }, backend: { type: 'string' }, resume: { type: 'boolean' },
    'cache-dir': { type: 'string' }, cache: { type: 'boolean' }, 'refit-from': { type: 'string' },
    backbone: { type: 'string' }, 'head-epochs': { type: 'string' }, 'freeze-until': { type: 'string' },
    'backbone-lr-scale': { type: 'string' }, 'weight-decay': { type: 'string' }, 'melanoma-recall': { type: 'string' },
    'backbone-norm': { type: 'string' },
  });
  if (values.help) { process.stdout.write(TRAIN_HELP); return; }
  const outDir = str(values, 'out');
  if (!outDir) throw new UsageError('--out <dir> is required (the run folder)');
  const resume = values.resume === true;
  const refitFrom = str(values, 'refit-from');
  if (refitFrom) {
    const recipeFlags = Object.keys(values).filter((k) => !['help', 'data', 'out', 'backend', 'resume', 'cache-dir', 'cache', 'refit-from'].includes(k));
    if (recipeFlags.length) throw new UsageError(`--refit-from repeats ${refitFrom}'s recipe unchanged; drop ${recipeFlags.map((f) => `--${f}`).join(', ')}`);
    if (resume) throw new UsageError('to resume a refit, pass --resume --out <dir> alone (its config.json names the reference run)');
  }

  // A resumed run starts from its saved config; flags given now override it (and are checked for conflicts).
  let base: Omit<TrainConfig, 'dataDir' | 'outDir'> & Partial<TrainConfig> = { ...DEFAULT_TRAIN_CONFIG };
  if (refitFrom) {
    const { loadRefitReference, refitConfig } = await import('./refit.ts');
    base = refitConfig((await loadRefitReference(refitFrom)).config, refitFrom, outDir, str(values, 'data'));
  } else if (resume) {
    const configPath = join(outDir, 'config.json');
    try {
      base = JSON.parse(await readFile(configPath, 'utf8')) as TrainConfig;
    } catch (err) {
      throw new UsageError(`cannot resume: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? `${configPath} does not exist` : (err as Error).message}`);
    }
  }
  const dataDir = str(values, 'data') ?? base.dataDir;
  if (!dataDir) throw new UsageError('--data <dir> is required (the folder with HAM10000_metadata.csv and the images)');
  const config: TrainConfig = {
    ...base,
    dataDir: resolve(dataDir),
    outDir: resolve(outDir),
    arch: str(values, 'arch') ?? base.arch,
    size: num(values, 'size') ?? base.size,
    epochs: num(values, 'epochs') ?? base.epochs,
    batch: num(values, 'batch') ?? base.batch,
    seed: num(values, 'seed') ?? base.seed,
    splitSeed: num(values, 'split-seed') ?? base.splitSeed,
    lr: num(values, 'lr') ?? base.lr,
    lrSchedule: (str(values, 'lr-schedule') ?? base.lrSchedule) as TrainConfig['lrSchedule'],
    warmupEpochs: num(values, 'warmup-epochs') ?? base.warmupEpochs,
    balance: (str(values, 'balance') ?? base.balance) as TrainConfig['balance'],
    labelSmoothing: num(values, 'label-smoothing') ?? base.labelSmoothing,
    augment: (str(values, 'augment') ?? base.augment) as TrainConfig['augment'],
    // Runs saved before --ema existed have no key for it: they trained without an average.
    ema: num(values, 'ema') ?? base.ema ?? DEFAULT_TRAIN_CONFIG.ema,
    valFraction: num(values, 'val-fraction') ?? base.valFraction,
    testFraction: num(values, 'test-fraction') ?? base.testFraction,
    patience: num(values, 'patience') ?? base.patience,
    tta: typeof values.tta === 'boolean' ? values.tta : base.tta,
    quantize: (str(values, 'quantize') ?? base.quantize) as TrainConfig['quantize'],
    backbone: str(values, 'backbone') !== undefined ? resolve(str(values, 'backbone')!) : base.backbone,
    // Runs saved before transfer learning existed have none of these keys.
    headEpochs: num(values, 'head-epochs') ?? base.headEpochs ?? d.headEpochs,
    freezeUntil: num(values, 'freeze-until') ?? base.freezeUntil ?? d.freezeUntil,
    backboneLrScale: num(values, 'backbone-lr-scale') ?? base.backboneLrScale ?? d.backboneLrScale,
    weightDecay: num(values, 'weight-decay') ?? base.weightDecay ?? d.weightDecay,
    ...((str(values, 'backbone-norm') ?? base.backboneNorm) !== undefined ? { backboneNorm: (str(values, 'backbone-norm') ?? base.backboneNorm) as TrainConfig['backboneNorm'] } : {}),
    ...((num(values, 'melanoma-recall') ?? base.melanomaRecall) !== undefined ? { melanomaRecall: num(values, 'melanoma-recall') ?? base.melanomaRecall } : {}),
  };
  const { validateConfig } = await import('./train-config.ts');
  try {
    validateConfig(config);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const backend = await startBackend(values, true);
  const cacheDir = cacheDirOf(values);
  const { train } = await import('./train.ts');
  const started = Date.now();
  const result = await train(config, { resume, cacheDir, backend });
  const kept = config.refitFrom ? `last epoch ${result.bestEpoch} (a refit: no validation score of its own)`
    : `best epoch ${result.bestEpoch} (val balanced accuracy ${result.bestValBalancedAccuracy.toFixed(4)})`;
  console.log(`done in ${((Date.now() - started) / 60000).toFixed(1)} min: ${kept}; model in ${join(config.outDir, 'best')}`);
}

async function evaluateCommand(args: string[]): Promise<void> {
  const { values } = parse(args, {
    model: { type: 'string' }, data: { type: 'string' }, labels: { type: 'string' }, json: { type: 'string' },
    tta: { type: 'boolean' }, backend: { type: 'string' },
  });
  if (values.help) { process.stdout.write(EVALUATE_HELP); return; }
  for (const flag of ['model', 'data', 'labels']) {
    if (!str(values, flag)) throw new UsageError(`--${flag} is required (dermlens evaluate --help)`);
  }
  await startBackend(values, false);
  const { evaluateModel, formatMetrics, metricsJson } = await import('./evaluate.ts');
  const result = await evaluateModel({
    model: str(values, 'model')!, imageDir: str(values, 'data')!, labelsPath: str(values, 'labels')!,
    tta: typeof values.tta === 'boolean' ? values.tta : undefined,
  });
  console.log(`model ${result.modelPath} (${result.metadata.arch}, ${result.metadata.inputSize} px, temperature ${result.inference.temperature.toFixed(3)}, tta ${result.inference.tta})`);
  if (result.skipped.length) {
    console.log(`skipped ${result.skipped.length} listed image(s):`);
    for (const s of result.skipped) console.log(`  ${s.imageId}: ${s.reason}`);
  }
  if (result.gate) {
    const g = result.gate;
    const pct = (f: number, n: number) => `${n ? ((100 * f) / n).toFixed(1) : '0.0'}% (${f}/${n})`;
    console.log(`dermoscopy gate (P(dermoscopic) < ${g.threshold.toFixed(3)}): flagged ${pct(g.flagged, g.n)} as not a dermoscopic image; `
      + `per class: ${Object.entries(g.perClass).map(([c, f]) => `${c} ${pct(f.flagged, f.n)}`).join(', ')}`);
  }
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
  if (values.help) { process.stdout.write(CLASSIFY_HELP); return 0; }
  if (positionals.length === 0) throw new UsageError('give at least one image file (dermlens classify --help)');
  const modelArg = str(values, 'model') ?? DEFAULT_MODEL;
  const { resolveModelJson } = await import('./evaluate.ts');
  let modelPath: string;
  try {
    modelPath = await resolveModelJson(modelArg);
  } catch (err) {
    throw new UsageError(values.model ? (err as Error).message
      : `no shipped model at ${DEFAULT_MODEL} yet; train one (dermlens train) and pass --model <run>/best`);
  }
  // The repository ships an untrained development model until a trained one replaces it: say so.
  const card = await readFile(join(dirname(modelPath), 'model-card.json'), 'utf8').then((t) => JSON.parse(t) as { untrained?: boolean }, () => null);
  if (card?.untrained) console.error(`warning: ${modelPath} is an UNTRAINED development model (model-card.json); its output means nothing`);
  await startBackend(values, false);
  const { load, melanomaAlert, toPredictions } = await import('../core/classifier.ts');
  const { preprocess } = await import('../core/preprocess.ts');
  const { CLASS_CODES } = await import('../core/labels.ts');
  const { fileLoadHandler } = await import('./model-io.ts');
  const { decodeImage, ImageDecodeError } = await import('./images.ts');
  const classifier = await load(fileLoadHandler(modelPath));
  const threshold = classifier.metadata.melanomaThreshold;
  let failures = 0;
  try {
    for (const file of positionals) {
      try {
        const [{ probabilities, dermoscopy }] = await classifier.assessInputs([preprocess(await decodeImage(file), classifier.inputSize)]);
        const predictions = toPredictions(probabilities);
        const alert = melanomaAlert(CLASS_CODES.map((code) => predictions.find((p) => p.code === code)!.probability), threshold);
        if (values.json) {
          console.log(JSON.stringify({
            file, dermoscopic: dermoscopy?.dermoscopic ?? null, dermoscopyScore: dermoscopy?.score ?? null,
            predictions: predictions.map((p) => ({ code: p.code, probability: p.probability })), melanomaAlert: alert,
          }));
        } else {
          console.log(`${file}`);
          if (dermoscopy && !dermoscopy.dermoscopic) {
            console.log(`  WARNING: this does not look like a dermoscopic image of a skin lesion (score ${dermoscopy.score.toFixed(3)}, `
              + `below ${dermoscopy.threshold.toFixed(3)}). The model only knows seven kinds of lesion seen through a dermatoscope, so the classes below mean nothing for it.`);
          }
          for (const p of predictions) console.log(`  ${p.code.padEnd(6)} ${(p.probability * 100).toFixed(1).padStart(5)}%  ${p.name}`);
          if (alert) console.log(`  MELANOMA ALERT: melanoma probability at or above this model's alert level (${(threshold! * 100).toFixed(1)}%)`);
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
  if (!values.json) console.log('\nNot a diagnosis: for research and education only. See a dermatologist about any lesion that worries you.');
  return failures ? 1 : 0;
}

async function reportCommand(args: string[]): Promise<void> {
  const { values } = parse(args, { run: { type: 'string' }, backend: { type: 'string' }, 'cache-dir': { type: 'string' } });
  if (values.help) { process.stdout.write(REPORT_HELP); return; }
  const runDir = str(values, 'run');
  if (!runDir) throw new UsageError('--run <dir> is required (dermlens report --help)');
  const { stat } = await import('node:fs/promises');
  const needsModel = await stat(join(runDir, 'metrics-detail.json')).then(() => true, () => false)
    && !(await stat(join(runDir, 'predictions.json')).then(() => true, () => false));
  const backend = needsModel ? await startBackend(values, false) : undefined;
  const { writeRunReport } = await import('./run-report.ts');
  const path = await writeRunReport(resolve(runDir), {
    recompute: needsModel, backend, cacheDir: cacheDirOf(values),
  });
  console.log(`wrote ${path}`);
}

async function ensembleCommand(args: string[]): Promise<void> {
  const { values } = parse(args, {
    member: { type: 'string', multiple: true }, out: { type: 'string' }, tta: { type: 'boolean' }, quantize: { type: 'string' },
    data: { type: 'string' }, backend: { type: 'string' }, 'cache-dir': { type: 'string' }, cache: { type: 'boolean' },
  });
  if (values.help) { process.stdout.write(ENSEMBLE_HELP); return; }
  const members = (values.member as unknown as string[] | undefined) ?? [];
  if (members.length < 2) throw new UsageError('give two or more --member <run> (dermlens ensemble --help)');
  const outDir = str(values, 'out');
  if (!outDir) throw new UsageError('--out <dir> is required (the ensemble\'s run folder)');
  const quantize = str(values, 'quantize') ?? 'none';
  if (!(QUANTIZATIONS as readonly string[]).includes(quantize)) throw new UsageError(`unknown quantization "${quantize}" (choose one of: ${QUANTIZATIONS.join(', ')})`);
  const backend = await startBackend(values, false);
  const { buildEnsemble } = await import('./ensemble.ts');
  const { final } = await buildEnsemble(
    { members, outDir, tta: values.tta === true, quantize: quantize as TrainConfig['quantize'], dataDir: str(values, 'data') },
    { cacheDir: cacheDirOf(values), backend },
  );
  console.log(`done: val balanced accuracy ${final.val.balancedAccuracy.toFixed(4)}; model in ${join(resolve(outDir), 'best')}`);
}

async function fitGateCommand(args: string[]): Promise<void> {
  const { values } = parse(args, { run: { type: 'string' }, ood: { type: 'string' }, 'cache-dir': { type: 'string' }, cache: { type: 'boolean' }, backend: { type: 'string' } });
  if (values.help) { process.stdout.write(FIT_GATE_HELP); return; }
  const runDir = str(values, 'run');
  const oodDir = str(values, 'ood');
  if (!runDir || !oodDir) throw new UsageError('--run <dir> and --ood <dir> are required (dermlens fit-gate --help)');
  await startBackend(values, false);
  const { fitGate, describeGate, GATE_FILE } = await import('./fit-gate.ts');
  const report = await fitGate({ runDir: resolve(runDir), oodDir: resolve(oodDir), cacheDir: cacheDirOf(values) });
  for (const line of describeGate(report)) console.log(line);
  console.log(`wrote the gate into ${join(resolve(runDir), 'best')} (and the quantized copy) and ${join(resolve(runDir), GATE_FILE)}`);
}

async function importBackboneCommand(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, { out: { type: 'string' }, backend: { type: 'string' } }, true);
  if (values.help) { process.stdout.write(IMPORT_BACKBONE_HELP); return; }
  if (positionals.length !== 1) throw new UsageError('give one .tflite file (dermlens import-backbone --help)');
  const outDir = str(values, 'out');
  if (!outDir) throw new UsageError('--out <dir> is required (the folder for the converted backbone)');
  await startBackend(values, false);
  const { importBackbone, describeBackbone } = await import('./backbone.ts');
  const info = await importBackbone(positionals[0], resolve(outDir));
  console.log(describeBackbone(info));
  console.log(`wrote ${resolve(outDir)} (model.json, weights, backbone.json)`);
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'train': await trainCommand(rest); return 0;
      case 'evaluate': await evaluateCommand(rest); return 0;
      case 'classify': return await classifyCommand(rest);
      case 'explain': return await (await import('./explain.ts')).explainCommand(rest, DEFAULT_MODEL);
      case 'report': await reportCommand(rest); return 0;
      case 'ensemble': await ensembleCommand(rest); return 0;
      case 'fit-gate': await fitGateCommand(rest); return 0;
      case 'import-backbone': await importBackboneCommand(rest); return 0;
      case undefined: case 'help': case '--help': case '-h': process.stdout.write(MAIN_HELP); return 0;
      default: throw new UsageError(`unknown command "${command}"\n\n${MAIN_HELP}`);
    }
  } catch (err) {
    if (process.env.DERMLENS_DEBUG) console.error(err);
    else console.error(`dermlens: ${(err as Error).message ?? String(err)}`);
    return 1;
  }
}

