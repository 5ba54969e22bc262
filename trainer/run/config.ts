// The training configuration: defaults (the original Keras recipe), validation with clear messages,
// and the rule for which changes a resumed run may make.
import { isArchitectureName, ARCHITECTURES } from '../../core/models.ts';
import { MOBILENET_V2_BLOCKS } from '../../core/mobilenet-v2.ts';
import type { CanonicalInputSize } from '../../core/preprocess.ts';

export type LrScheduleName = 'constant' | 'cosine';
export const LR_SCHEDULES: readonly LrScheduleName[] = ['constant', 'cosine'];
export type Quantization = 'none' | 'float16' | 'uint8';
export const QUANTIZATIONS: readonly Quantization[] = ['none', 'float16', 'uint8'];
export type BalanceMode = 'none' | 'weights' | 'sampling';
export const BALANCE_MODES: readonly BalanceMode[] = ['none', 'weights', 'sampling'];
export type AugmentName = 'original' | 'strong' | 'none';
export const AUGMENT_NAMES: readonly AugmentName[] = ['original', 'strong', 'none'];

/** One line of history.json: the training loss and validation metrics after an epoch (null for a refit, which trains on val). */
export interface EpochRecord {
  epoch: number;
  loss: number;
  valLoss: number | null;
  valAccuracy: number | null;
  valBalancedAccuracy: number | null;
  valMacroF1: number | null;
  valMacroAuc: number | null;
  /** With --ema the val metrics above are the averaged model's; this is the trained weights' own score, for comparison. */
  valBalancedAccuracyRaw?: number;
  /** With --extra-data: the external validation set's balanced accuracy (mean recall of the classes it has) and macro AUC. */
  extBalancedAccuracy?: number;
  extMacroAuc?: number | null;
  lr: number;
  seconds: number;
}

export interface TrainConfig {
  /** Folder with HAM10000_metadata.csv and the images (at any depth below it). */
  dataDir: string;
  /**
   * More data folders (--extra-data), each with a labels.csv (isic-extra's layout): their images train, but
   * for the --external collections, which are the external validation set (trainer/data/sources.ts).
   */
  extraData?: string[];
  /** Collections (labels.csv `dataset` values) of the extra folders held out as external validation (default ph2, msk). */
  external?: string[];
  /**
   * How the sources are mixed (--source-rate): the share of a source's (folder name) or collection's
   * (dataset value) training images drawn into each epoch, without replacement (0.5 = a fresh half each
   * epoch; 2 = every image twice). Absent = 1 for every source. Class weights follow the mix.
   */
  sourceRates?: Record<string, number>;
  /** Leave out the extra folders' images listed in squashed_unknown_aspect.txt (distorted copies). */
  dropSquashed?: boolean;
  /**
   * What picks the kept epoch (--select-on): 'val', HAM10000 validation balanced accuracy (absent = 'val'), or
   * 'val+external', the mean of it and the external set's (both are validation sets, never trained on: a
   * model kept for HAM10000 alone can give away the other clinics' images in its last epochs).
   */
  selectOn?: SelectOn;
  /** Run folder: config, split, checkpoints, best model, metrics, report. */
  outDir: string;
  arch: string;
  /** The model input: the side of a square input (128), or "WxH" (width x height, "160x120"; --size). */
  size: CanonicalInputSize;
  epochs: number;
  batch: number;
  seed: number;
  /**
   * Seed of the lesion-grouped split when it should differ from --seed (absent = --seed): a second
   * model for an ensemble needs a different initialisation and batch order on the same split.
   */
  splitSeed?: number;
  lr: number;
  lrSchedule: LrScheduleName;
  /** Epochs of linear learning-rate warm-up (0 = none). */
  warmupEpochs: number;
  balance: BalanceMode;
  labelSmoothing: number;
  augment: AugmentName;
  /**
   * Probability per training image of blacking out everything outside a random ellipse, as a dermoscope's
   * circular field of view does (--field-of-view; absent = 0 = off). Few HAM10000 images show it, many
   * other dermoscopic images do, and a network that never saw it misreads them (research/README.md, eighth round).
   */
  fieldOfView?: number;
  /** Decay of an exponential moving average of the weights, which is then what is validated and shipped (0 = off). */
  ema: number;
  valFraction: number;
  testFraction: number;
  /** Stop when val balanced accuracy has not improved for this many epochs (0 = never). */
  patience: number;
  /** Also evaluate with horizontal-flip averaging, and ship it in the model when it helps on val. */
  tta: boolean;
  quantize: Quantization;
  /**
   * A finished run whose recipe this run repeats on that run's train + validation images (`--refit-from`,
   * trainer/train/refit.ts): the last epoch is kept and the flip mode, temperature and melanoma threshold are
   * that run's. Absent for an ordinary run.
   */
  refitFrom?: string;
  /**
   * Pretrained weights for the backbone (--backbone): a folder from `dermlens import-backbone` or a
   * .tflite file. Absent = random initialisation. `backboneSha256` records which file it was.
   */
  backbone?: string;
  backboneSha256?: string;
  /** Epochs at the start that train the head alone, the backbone frozen (transfer learning's warm-up). */
  headEpochs: number;
  /** After the head epochs, the stem and blocks below this index stay frozen (0 = nothing frozen; 17 = all blocks, 18 = all but the head). */
  freezeUntil: number;
  /** The backbone's learning rate as a fraction of --lr (the head's). */
  backboneLrScale: number;
  /** Decoupled weight decay (AdamW) on conv and dense kernels, per unit of learning rate (0 = off). */
  weightDecay: number;
  /** mobilenetv2: fine-tune the backbone as published, BatchNorm folded ('folded'), or with BatchNorm re-added after every conv. */
  backboneNorm?: 'folded' | 'batchnorm';
  /** The melanoma alert threshold is the highest that catches this share of validation melanomas (--melanoma-recall). */
  melanomaRecall?: number;
}

/** The original app's recipe. */
export const DEFAULT_TRAIN_CONFIG: Readonly<Omit<TrainConfig, 'dataDir' | 'outDir'>> = Object.freeze({
  arch: 'seed',
  size: 64,
  epochs: 50,
  batch: 32,
  seed: 42,
  lr: 1e-3,
  lrSchedule: 'constant',
  warmupEpochs: 0,
  balance: 'none',
  labelSmoothing: 0,
  augment: 'original',
  ema: 0,
  valFraction: 0.15,
  testFraction: 0.15,
  patience: 0,
  tta: false,
  quantize: 'none',
  headEpochs: 0,
  freezeUntil: 0,
  backboneLrScale: 1,
  weightDecay: 0,
});

export const SELECT_ON = ['val', 'val+external'] as const;
export type SelectOn = (typeof SELECT_ON)[number];

/** The score the kept epoch maximises (see TrainConfig.selectOn). */
export function selectionScore(selectOn: SelectOn | undefined, val: number, external: number | undefined): number {
  if (selectOn !== 'val+external') return val;
  if (external === undefined) throw new Error('--select-on val+external needs an external set (--extra-data with --external collections)');
  return (val + external) / 2;
}

/** The external validation collections when --external is not given. */
export const DEFAULT_EXTERNAL = ['ph2', 'msk'];

/** Settings that define the optimisation trajectory: a resumed run must match them exactly. */
const TRAJECTORY_KEYS = [
  'extraData',
  'external',
  'sourceRates',
  'dropSquashed',
  'selectOn',
  'arch',
  'size',
  'batch',
  'seed',
  'splitSeed',
  'lr',
  'lrSchedule',
  'warmupEpochs',
  'balance',
  'labelSmoothing',
  'augment',
  'fieldOfView',
  'ema',
  'valFraction',
  'testFraction',
  'refitFrom',
  'backboneSha256',
  'headEpochs',
  'freezeUntil',
  'backboneLrScale',
  'weightDecay',
  'backboneNorm',
] as const satisfies readonly (keyof TrainConfig)[];

/** What a refit must share with the run it repeats: everything that trains the network, on the same split. */
export const RECIPE_KEYS = [
  ...TRAJECTORY_KEYS.filter((k) => k !== 'refitFrom'),
  'epochs',
  'quantize',
] as const satisfies readonly (keyof TrainConfig)[];

export function validateConfig(c: TrainConfig): void {
  const fail = (msg: string): never => {
    throw new Error(msg);
  };
  const int = (name: string, v: number, min: number) => {
    if (!Number.isInteger(v) || v < min) fail(`${name} must be an integer >= ${min}, got ${v}`);
  };
  if (!c.dataDir) fail('the data folder is required (--data <dir>)');
  for (const [name, rate] of Object.entries(c.sourceRates ?? {})) {
    if (!(rate >= 0 && rate <= 10))
      fail(`--source-rate ${name}=${rate}: a rate is the share of that source's images per epoch, in [0, 10]`);
  }
  if ((c.sourceRates || c.external || c.dropSquashed) && !c.extraData?.length)
    fail('--source-rate, --external and --drop-squashed apply to --extra-data folders; none was given');
  if (c.selectOn !== undefined && !SELECT_ON.includes(c.selectOn)) fail(`--select-on ${c.selectOn}: use ${SELECT_ON.join(' or ')}`);
  if (c.selectOn === 'val+external' && !c.extraData?.length)
    fail('--select-on val+external needs an external set: give --extra-data (its --external collections, default ph2,msk)');
  if (!c.outDir) fail('the output folder is required (--out <dir>)');
  if (!isArchitectureName(c.arch)) fail(`unknown architecture "${c.arch}" (choose one of: ${Object.keys(ARCHITECTURES).join(', ')})`);
  const shape = /^(\d+)x(\d+)$/.exec(String(c.size));
  if (typeof c.size === 'number') int('size', c.size, 16);
  else if (!shape || Number(shape[1]) < 16 || Number(shape[2]) < 16)
    fail(`size must be an integer >= 16 or WxH with each side >= 16 (e.g. 160x120), got ${JSON.stringify(c.size)}`);
  else if (shape[1] === shape[2]) fail(`size ${c.size} is square: give it as ${shape[1]}`);
  int('epochs', c.epochs, 1);
  int('batch', c.batch, 2);
  if (!Number.isFinite(c.seed)) fail(`seed must be a number, got ${c.seed}`);
  if (c.splitSeed !== undefined && !Number.isFinite(c.splitSeed)) fail(`split seed must be a number, got ${c.splitSeed}`);
  if (!(c.lr > 0 && c.lr < 10)) fail(`lr must be in (0, 10), got ${c.lr}`);
  if (!LR_SCHEDULES.includes(c.lrSchedule)) fail(`unknown lr schedule "${c.lrSchedule}" (choose one of: ${LR_SCHEDULES.join(', ')})`);
  if (!(c.warmupEpochs >= 0 && c.warmupEpochs < c.epochs)) fail(`warm-up epochs must be in [0, epochs), got ${c.warmupEpochs}`);
  if (!BALANCE_MODES.includes(c.balance)) fail(`unknown balance mode "${c.balance}" (choose one of: ${BALANCE_MODES.join(', ')})`);
  if (!(c.labelSmoothing >= 0 && c.labelSmoothing < 1)) fail(`label smoothing must be in [0, 1), got ${c.labelSmoothing}`);
  if (!(c.ema >= 0 && c.ema < 1))
    fail(`ema decay must be in [0, 1) (0 = off; 0.999 averages over about the last 1,000 steps), got ${c.ema}`);
  if (!AUGMENT_NAMES.includes(c.augment)) fail(`unknown augmentation "${c.augment}" (choose one of: ${AUGMENT_NAMES.join(', ')})`);
  if (c.fieldOfView !== undefined && !(c.fieldOfView >= 0 && c.fieldOfView <= 1))
    fail(`--field-of-view is a probability per image, in [0, 1] (0 = off), got ${c.fieldOfView}`);
  if (c.fieldOfView && c.augment === 'none') fail('--field-of-view is part of the augmentation: it needs --augment original or strong');
  for (const [name, f] of [
    ['val fraction', c.valFraction],
    ['test fraction', c.testFraction],
  ] as const) {
    if (!(f > 0 && f < 1)) fail(`${name} must be in (0, 1), got ${f}`);
  }
  if (c.valFraction + c.testFraction >= 0.9) fail('val + test fractions leave less than 10% for training');
  int('patience', c.patience, 0);
  if (c.refitFrom !== undefined && c.patience > 0)
    fail('a refit trains on the validation images, so it cannot stop early on them (patience must be 0)');
  int('head epochs', c.headEpochs, 0);
  if (c.headEpochs >= c.epochs) fail(`head epochs must be fewer than epochs (${c.epochs}), got ${c.headEpochs}`);
  if (!Number.isInteger(c.freezeUntil) || c.freezeUntil < 0 || c.freezeUntil > MOBILENET_V2_BLOCKS + 1) {
    fail(
      `--freeze-until must be a block index 0..${MOBILENET_V2_BLOCKS + 1} (0 = nothing frozen; N = the stem and blocks 0..N-1 frozen; ${MOBILENET_V2_BLOCKS + 1} = only the head trains), got ${c.freezeUntil}`,
    );
  }
  if (!(c.backboneLrScale > 0 && c.backboneLrScale <= 10)) fail(`backbone lr scale must be in (0, 10], got ${c.backboneLrScale}`);
  if (!(c.weightDecay >= 0 && c.weightDecay < 1)) fail(`weight decay must be in [0, 1), got ${c.weightDecay}`);
  const transfer = c.backbone !== undefined || c.headEpochs > 0 || c.freezeUntil > 0 || c.backboneLrScale !== 1;
  if (transfer && c.arch !== 'mobilenetv2')
    fail(`--backbone, --head-epochs, --freeze-until and --backbone-lr-scale apply to --arch mobilenetv2, not ${c.arch}`);
  if (c.backboneNorm !== undefined && !['folded', 'batchnorm'].includes(c.backboneNorm))
    fail(`unknown backbone normalisation "${c.backboneNorm}" (folded | batchnorm)`);
  if (c.backboneNorm === 'batchnorm' && c.arch !== 'mobilenetv2') fail(`--backbone-norm applies to --arch mobilenetv2, not ${c.arch}`);
  if (c.melanomaRecall !== undefined && !(c.melanomaRecall > 0 && c.melanomaRecall <= 1))
    fail(`melanoma recall target must be in (0, 1], got ${c.melanomaRecall}`);
  if (!QUANTIZATIONS.includes(c.quantize)) fail(`unknown quantization "${c.quantize}" (choose one of: ${QUANTIZATIONS.join(', ')})`);
}

/** The seed the lesion-grouped split is drawn with. */
export const splitSeedOf = (c: Pick<TrainConfig, 'seed' | 'splitSeed'>): number => c.splitSeed ?? c.seed;

/**
 * Why a run saved with `saved` cannot be resumed with `requested`, or null when it can. Epochs may grow
 * (or shrink) only with a constant schedule, since a cosine curve is defined by the total length.
 * Folders, patience, TTA and quantization only affect what happens around training, so they may change.
 */
export function resumeConflict(savedConfig: TrainConfig, requested: TrainConfig): string | null {
  // Runs saved before a setting existed trained with its default.
  const saved: TrainConfig = { ...DEFAULT_TRAIN_CONFIG, ...savedConfig };
  // JSON comparison: the list and map settings (--extra-data, --source-rate) are compared by value.
  const diffs = TRAJECTORY_KEYS.filter((k) => JSON.stringify(saved[k]) !== JSON.stringify(requested[k])).map(
    (k) => `${k}: saved ${JSON.stringify(saved[k])}, requested ${JSON.stringify(requested[k])}`,
  );
  if (saved.epochs !== requested.epochs && (saved.lrSchedule !== 'constant' || saved.warmupEpochs !== requested.warmupEpochs)) {
    diffs.push(`epochs: saved ${saved.epochs}, requested ${requested.epochs} (only allowed with --lr-schedule constant)`);
  }
  return diffs.length ? diffs.join('; ') : null;
}
