// Every `dermlens train` flag, declared once: name, value type, the config key it sets, help, and
// whether a refit may take it. The help text, the parser options, the flags -> TrainConfig mapping, the
// refit allow-list and the model card's train command are all generated from this table (timm's
// train.py declares each argument once in the same spirit). node:util's parseArgs does the parsing:
// it is built into Node and, with this table, nothing else is needed (commander would add a dependency
// and a second place where flags are declared).
import { basename, resolve } from 'node:path';
import { ARCHITECTURES } from '../../core/models.ts';
import { canonicalInputSize, type CanonicalInputSize } from '../../core/preprocess.ts';
import { AUGMENT_NAMES, BALANCE_MODES, DEFAULT_TRAIN_CONFIG, LR_SCHEDULES, QUANTIZATIONS, type TrainConfig } from './config.ts';

export interface TrainFlag {
  /** The flag without its dashes: --lr-schedule is 'lr-schedule'. */
  name: string;
  /** 'paths' and 'list' are comma-separated lists; 'rates' is name=number,...; 'input-size' is 128 or WxH (160x120). */
  type: 'number' | 'string' | 'path' | 'boolean' | 'paths' | 'list' | 'rates' | 'input-size';
  /** The TrainConfig field it sets; none for flags about the call itself (--resume, --backend, --cache-dir). */
  key?: keyof TrainConfig;
  /** Placeholder in the help, e.g. '<x>'. */
  value?: string;
  help: string;
  /** A refit (--refit-from) may take it: it does not change the recipe. */
  refit?: boolean;
  /** Printed in a model card's train command (the recipe and the seed), in this table's order. */
  recipe?: boolean;
}

const archHelp = Object.entries(ARCHITECTURES)
  .map(([k, v]) => `${k}: ${v.description}`)
  .join('\n');

export const TRAIN_FLAGS: readonly TrainFlag[] = [
  { name: 'data', type: 'path', key: 'dataDir', value: '<dir>', help: 'dataset folder (required)', refit: true },
  {
    name: 'extra-data',
    type: 'paths',
    key: 'extraData',
    value: '<dir,...>',
    help: "more data folders, each with a labels.csv (image_id,dx[,lesion_id,dataset]), e.g.\nisic-extra: their images train, but for the --external collections; or clinical\nphotos in PAD-UFES-20's layout (metadata.csv): its training patients train, the\nothers are held out as fit-gate deals them",
    recipe: true,
  },
  {
    name: 'external',
    type: 'list',
    key: 'external',
    value: '<a,b>',
    help: 'collections (labels.csv dataset values) of the extra folders kept out of training as\nthe external validation set, reported every epoch and per collection (default ph2,msk)',
    recipe: true,
  },
  {
    name: 'source-rate',
    type: 'rates',
    key: 'sourceRates',
    value: '<name=x,...>',
    help: "share of a source's (folder name) or collection's training images drawn into each\nepoch (0.5: a fresh half each epoch; 2: each image twice; default 1); class weights\nfollow the mix",
    recipe: true,
  },
  {
    name: 'drop-squashed',
    type: 'boolean',
    key: 'dropSquashed',
    help: "leave out the extra folders' images listed in squashed_unknown_aspect.txt",
    recipe: true,
  },
  {
    name: 'select-on',
    type: 'string',
    key: 'selectOn',
    value: '<score>',
    help: "what keeps an epoch: val (HAM10000 validation balanced accuracy, default) or\nval+external (the mean of it and the external set's)",
    recipe: true,
  },
  { name: 'out', type: 'path', key: 'outDir', value: '<dir>', help: 'run folder (required)', refit: true },
  { name: 'arch', type: 'string', key: 'arch', value: '<name>', help: archHelp, recipe: true },
  {
    name: 'size',
    type: 'input-size',
    key: 'size',
    value: '<px|WxH>',
    help: 'input side in pixels (square), or width x height, e.g. 160x120: the image is\ncentre-cropped to exactly that aspect ratio instead of squashed into a square',
    recipe: true,
  },
  { name: 'epochs', type: 'number', key: 'epochs', value: '<n>', help: '', recipe: true },
  { name: 'batch', type: 'number', key: 'batch', value: '<n>', help: 'batch size', recipe: true },
  { name: 'seed', type: 'number', key: 'seed', value: '<n>', help: 'seed for split, init, shuffling, augmentation, dropout', recipe: true },
  {
    name: 'split-seed',
    type: 'number',
    key: 'splitSeed',
    value: '<n>',
    help: 'seed for the split alone, when it must differ from --seed (another ensemble\nmember on the same split; default: --seed)',
    recipe: true,
  },
  {
    name: 'backbone',
    type: 'path',
    key: 'backbone',
    value: '<path>',
    help: 'pretrained backbone for --arch mobilenetv2: a folder from dermlens import-backbone\nor a MobileNetV2 .tflite file (converted on the fly); its sha256 goes in config.json',
    recipe: true,
  },
  {
    name: 'head-epochs',
    type: 'number',
    key: 'headEpochs',
    value: '<n>',
    help: 'first train the new head alone, the backbone frozen, for n epochs',
    recipe: true,
  },
  {
    name: 'freeze-until',
    type: 'number',
    key: 'freezeUntil',
    value: '<k>',
    help: 'then keep the stem and blocks 0..k-1 frozen (0 = fine-tune everything; 17 = only\nthe last conv and the head; 18 = only the head)',
    recipe: true,
  },
  {
    name: 'backbone-lr-scale',
    type: 'number',
    key: 'backboneLrScale',
    value: '<x>',
    help: "the backbone's learning rate as a fraction of --lr",
    recipe: true,
  },
  {
    name: 'backbone-norm',
    type: 'string',
    key: 'backboneNorm',
    value: '<n>',
    help: 'folded (default: as published, BatchNorm folded into the convs, i.e. frozen at ImageNet\nstatistics) | batchnorm (re-added after every conv, initialised from a batch of training images)',
    recipe: true,
  },
  { name: 'lr', type: 'number', key: 'lr', value: '<x>', help: 'Adam learning rate', recipe: true },
  { name: 'lr-schedule', type: 'string', key: 'lrSchedule', value: '<s>', help: LR_SCHEDULES.join(' | '), recipe: true },
  { name: 'warmup-epochs', type: 'number', key: 'warmupEpochs', value: '<n>', help: 'linear learning-rate warm-up', recipe: true },
  {
    name: 'weight-decay',
    type: 'number',
    key: 'weightDecay',
    value: '<x>',
    help: 'decoupled (AdamW) weight decay on kernels, per unit of learning rate',
    recipe: true,
  },
  {
    name: 'balance',
    type: 'string',
    key: 'balance',
    value: '<mode>',
    help: `${BALANCE_MODES.join(' | ')}: none, a class-weighted loss, or class-balanced batches`,
    recipe: true,
  },
  { name: 'label-smoothing', type: 'number', key: 'labelSmoothing', value: '<x>', help: '0..1', recipe: true },
  { name: 'augment', type: 'string', key: 'augment', value: '<name>', help: AUGMENT_NAMES.join(' | '), recipe: true },
  {
    name: 'field-of-view',
    type: 'number',
    key: 'fieldOfView',
    value: '<p>',
    help: "with probability p per training image, black out everything outside a random\nellipse, as a dermoscope's circular field of view does; 0 = off",
    recipe: true,
  },
  {
    name: 'ema',
    type: 'number',
    key: 'ema',
    value: '<decay>',
    help: 'keep an exponential moving average of the weights (e.g. 0.999) and validate,\nkeep and ship the average instead of the last weights; 0 = off',
    recipe: true,
  },
  { name: 'val-fraction', type: 'number', key: 'valFraction', value: '<x>', help: '' },
  { name: 'test-fraction', type: 'number', key: 'testFraction', value: '<x>', help: '' },
  { name: 'patience', type: 'number', key: 'patience', value: '<n>', help: 'early stopping on val balanced accuracy; 0 = off' },
  {
    name: 'melanoma-recall',
    type: 'number',
    key: 'melanomaRecall',
    value: '<x>',
    help: 'the melanoma alert fires at the highest P(mel) threshold that catches this share of\nthe validation melanomas (default 0.85); may change on --resume (redoes the final evaluation)',
    recipe: true,
  },
  {
    name: 'tta',
    type: 'boolean',
    key: 'tta',
    help: 'also evaluate with horizontal-flip averaging; ship it if it helps on val',
    recipe: true,
  },
  {
    name: 'quantize',
    type: 'string',
    key: 'quantize',
    value: '<q>',
    help: `${QUANTIZATIONS.join(' | ')}: also export best-<q>/ with quantized weights`,
    recipe: true,
  },
  {
    name: 'backend',
    type: 'string',
    value: '<b>',
    help: 'auto | tensorflow | wasm | cpu (default auto: tfjs-node, else wasm)',
    refit: true,
  },
  {
    name: 'cache-dir',
    type: 'path',
    value: '<dir>',
    help: 'decoded-image cache (default ~/.cache/dermlens; --no-cache to disable)',
    refit: true,
  },
  {
    name: 'resume',
    type: 'boolean',
    help: 'continue the run in --out from its last checkpoint (flags not given are taken\nfrom its config.json; training settings must match)',
    refit: true,
  },
  {
    name: 'refit-from',
    type: 'path',
    key: 'refitFrom',
    value: '<run>',
    help: "train <run>'s recipe again, unchanged, on its train + validation images and keep\nthe last epoch; flip mode, temperature, melanoma threshold and the validation\nnumbers are <run>'s (nothing held out is left to fit them on). Test stays unseen.\nTakes no recipe flags: only --data, --out, --backend, --cache-dir, --resume",
    refit: true,
  },
];

const COLUMN = 26;

/** A setting's default (undefined for the ones without one, such as --split-seed). */
const defaultOf = (key: keyof TrainConfig): unknown => (DEFAULT_TRAIN_CONFIG as Partial<Record<keyof TrainConfig, unknown>>)[key];

/** The help block of the flags, each with its default from DEFAULT_TRAIN_CONFIG where it has one. */
export function flagsHelp(flags: readonly TrainFlag[] = TRAIN_FLAGS): string {
  return flags
    .map((f) => {
      const head = `  --${f.name}${f.value ? ` ${f.value}` : ''}`;
      const fallback = f.key ? defaultOf(f.key) : undefined;
      const text = `${f.help}${fallback !== undefined && f.type !== 'boolean' ? `${f.help ? ' ' : ''}(default ${fallback})` : ''}`;
      const [first, ...rest] = text.split('\n');
      const pad = head.length < COLUMN ? ' '.repeat(COLUMN - head.length) : `\n${' '.repeat(COLUMN)}`;
      return [`${head}${pad}${first}`, ...rest.map((line) => `${' '.repeat(COLUMN)}${line}`)].join('\n').trimEnd();
    })
    .join('\n');
}

/** node:util parseArgs options for the table (plus --no-cache). */
export function parseOptions(flags: readonly TrainFlag[] = TRAIN_FLAGS): Record<string, { type: 'string' | 'boolean' }> {
  return {
    ...Object.fromEntries(flags.map((f) => [f.name, { type: f.type === 'boolean' ? 'boolean' : 'string' }])),
    cache: { type: 'boolean' },
  };
}

export class FlagError extends Error {}

/** One flag's parsed value, or undefined when not given. */
export function flagValue(
  f: TrainFlag,
  raw: string | boolean | undefined,
): string | number | boolean | string[] | Record<string, number> | CanonicalInputSize | undefined {
  if (raw === undefined) return undefined;
  if (f.type === 'boolean') return raw === true;
  if (typeof raw !== 'string') throw new FlagError(`--${f.name} expects a value`);
  if (f.type === 'path') return resolve(raw);
  const list = raw
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
  if (f.type === 'paths') return list.map((p) => resolve(p));
  if (f.type === 'list') return list;
  if (f.type === 'rates') {
    return Object.fromEntries(
      list.map((part) => {
        const [name, value, ...rest] = part.split('=');
        const n = Number(value);
        if (!name || value === undefined || rest.length || value.trim() === '' || !Number.isFinite(n))
          throw new FlagError(
            `--${f.name} expects name=number pairs separated by commas (e.g. isic-extra=0.5), got ${JSON.stringify(part)}`,
          );
        return [name.trim(), n];
      }),
    );
  }
  if (f.type === 'string') return raw;
  if (f.type === 'input-size') {
    const text = raw.trim().toLowerCase();
    if (!/^\d+(x\d+)?$/.test(text))
      throw new FlagError(`--${f.name} expects a side in pixels (128) or width x height (160x120), got ${JSON.stringify(raw)}`);
    return canonicalInputSize(text.includes('x') ? (text as `${number}x${number}`) : Number(text));
  }
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n)) throw new FlagError(`--${f.name} expects a number, got ${JSON.stringify(raw)}`);
  return n;
}

/**
 * The flags given -> config fields. `base` is the saved config of a resumed run, a refit's config, or
 * the defaults: every given flag overrides it; the result is not yet validated (validateConfig does that).
 */
export function configFromFlags(values: Record<string, string | boolean | undefined>, base: Partial<TrainConfig>): Partial<TrainConfig> {
  const config: Record<string, unknown> = { ...DEFAULT_TRAIN_CONFIG, ...base };
  for (const f of TRAIN_FLAGS) {
    if (!f.key) continue;
    const v = flagValue(f, values[f.name]);
    if (v !== undefined) config[f.key] = v;
  }
  // Optional settings stay absent rather than undefined, so config.json has no empty keys.
  for (const key of Object.keys(config)) if (config[key] === undefined) delete config[key];
  return config as Partial<TrainConfig>;
}

/** Flags given that a refit may not take (it repeats its reference's recipe unchanged). */
export function nonRefitFlags(given: readonly string[]): string[] {
  const allowed = new Set(['help', 'cache', ...TRAIN_FLAGS.filter((f) => f.refit).map((f) => f.name)]);
  return given.filter((name) => !allowed.has(name));
}

/**
 * The `dermlens train` command that repeats a run's recipe (for model cards): every recipe flag whose
 * value differs from the default, plus the ones that define the run whatever their value.
 */
export function trainCommandLine(config: Partial<TrainConfig>, out: string, opts: { backbone?: string } = {}): string {
  const always = new Set<keyof TrainConfig>([
    'arch',
    'size',
    'epochs',
    'batch',
    'seed',
    'lr',
    'lrSchedule',
    'balance',
    'labelSmoothing',
    'augment',
  ]);
  const parts = ['npx dermlens train --data <HAM10000 dir>', `--out ${out}`];
  for (const f of TRAIN_FLAGS) {
    if (!f.recipe || !f.key) continue;
    const v = config[f.key];
    const fallback = defaultOf(f.key);
    if (v === undefined || (!always.has(f.key) && v === fallback)) continue;
    if (f.key === 'splitSeed' && v === config.seed) continue;
    if (f.type === 'boolean') {
      if (v) parts.push(`--${f.name}`);
      continue;
    }
    if (f.type === 'paths') {
      parts.push(`--${f.name} ${(v as string[]).map((p) => `<${basename(p)} dir>`).join(',')}`);
      continue;
    }
    if (f.type === 'list') {
      parts.push(`--${f.name} ${(v as string[]).join(',')}`);
      continue;
    }
    if (f.type === 'rates') {
      parts.push(
        `--${f.name} ${Object.entries(v as Record<string, number>)
          .map(([k, x]) => `${k}=${x}`)
          .join(',')}`,
      );
      continue;
    }
    parts.push(`--${f.name} ${f.key === 'backbone' ? `<${opts.backbone ?? 'backbone'}>` : v}`);
  }
  return parts.join(' ');
}
