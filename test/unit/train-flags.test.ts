// The one table of `dermlens train` flags (trainer/run/train-flags.ts) and what is generated from it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { DEFAULT_TRAIN_CONFIG, RECIPE_KEYS, validateConfig, type TrainConfig } from '../../trainer/run/config.ts';
import {
  FlagError,
  TRAIN_FLAGS,
  configFromFlags,
  flagsHelp,
  nonRefitFlags,
  parseOptions,
  trainCommandLine,
} from '../../trainer/run/train-flags.ts';

test('each flag is declared once, and every recipe setting of TrainConfig has a flag', () => {
  const names = TRAIN_FLAGS.map((f) => f.name);
  assert.equal(new Set(names).size, names.length);
  const keys = new Set(TRAIN_FLAGS.map((f) => f.key));
  for (const key of RECIPE_KEYS.filter((k) => k !== 'backboneSha256')) assert.ok(keys.has(key), `no flag sets ${key}`);
});

test('the help lists every flag with its default', () => {
  const help = flagsHelp();
  for (const f of TRAIN_FLAGS) assert.match(help, new RegExp(`^  --${f.name}\\b`, 'm'));
  assert.match(help, /--lr <x> +Adam learning rate \(default 0\.001\)/);
  assert.match(help, /--epochs <n> +\(default 50\)/);
});

test('parsed flags map onto the config: numbers, resolved paths, booleans; the base fills the rest', () => {
  const { values } = parseArgs({
    args: ['--lr', '0.0005', '--out', 'runs/x', '--tta', '--augment', 'strong', '--no-cache'],
    options: parseOptions(),
    allowNegative: true,
    strict: true,
  });
  const config = configFromFlags(values as Record<string, string | boolean>, { epochs: 7 });
  assert.equal(config.lr, 0.0005);
  assert.equal(config.outDir, resolve('runs/x'));
  assert.equal(config.tta, true);
  assert.equal(config.augment, 'strong');
  assert.equal(config.epochs, 7, "base (a resumed run's saved config) kept where no flag is given");
  assert.equal(config.size, DEFAULT_TRAIN_CONFIG.size);
  assert.ok(!('splitSeed' in config), 'unset optional settings stay absent');
  assert.throws(
    () => configFromFlags({ lr: 'fast' }, {}),
    (e: Error) => e instanceof FlagError && /--lr expects a number, got "fast"/.test(e.message),
  );
});

test('--size takes a side or width x height: canonical in the config, validated, and back in the train command', () => {
  const parse = (size: string) => configFromFlags({ size }, {}).size;
  assert.equal(parse('128'), 128);
  assert.equal(parse('160x120'), '160x120');
  assert.equal(parse('160X120'), '160x120');
  assert.equal(parse('96x96'), 96, 'a square WxH is the plain side');
  for (const bad of ['160x', 'x120', '160*120', '1.5e2', '-96'])
    assert.throws(
      () => parse(bad),
      (e: Error) => e instanceof FlagError && /--size expects a side in pixels \(128\) or width x height \(160x120\)/.test(e.message),
      bad,
    );
  const config = (size: TrainConfig['size']): TrainConfig => ({ ...DEFAULT_TRAIN_CONFIG, dataDir: '/d', outDir: '/o', size });
  validateConfig(config('160x120'));
  assert.throws(
    () => validateConfig(config('160x8')),
    /size must be an integer >= 16 or WxH with each side >= 16 \(e\.g\. 160x120\), got "160x8"/,
  );
  assert.throws(() => validateConfig(config('96x96')), /size 96x96 is square: give it as 96/);
  assert.throws(() => validateConfig(config(8)), /size must be an integer >= 16, got 8/);
  assert.match(trainCommandLine({ ...DEFAULT_TRAIN_CONFIG, size: '192x144' }, 'runs/wide'), / --size 192x144 /);
});

test('a refit takes only the flags marked for it', () => {
  assert.deepEqual(nonRefitFlags(['data', 'out', 'backend', 'resume', 'cache-dir', 'cache', 'refit-from']), []);
  assert.deepEqual(nonRefitFlags(['out', 'lr', 'epochs']), ['lr', 'epochs']);
});

test("the model card's train command parses back to the same recipe", () => {
  const recipe: Partial<TrainConfig> = {
    ...DEFAULT_TRAIN_CONFIG,
    arch: 'mobilenetv2',
    size: 128,
    epochs: 14,
    headEpochs: 2,
    backboneLrScale: 0.1,
    weightDecay: 0.05,
    lr: 0.0005,
    lrSchedule: 'cosine',
    warmupEpochs: 1,
    balance: 'sampling',
    labelSmoothing: 0.1,
    augment: 'strong',
    ema: 0.999,
    quantize: 'float16',
    tta: false,
    melanomaRecall: 0.85,
  };
  const line = trainCommandLine(recipe, 'runs/release');
  assert.match(line, /^npx dermlens train --data <HAM10000 dir> --out runs\/release --arch mobilenetv2 --size 128 --epochs 14 /);
  assert.ok(!line.includes('--tta'), 'false booleans are left out');
  const args = line
    .replace(/^npx dermlens train /, '')
    .split(' ')
    .filter((a) => a !== '<HAM10000' && a !== 'dir>');
  const { values } = parseArgs({ args: args.filter((a) => a !== '--data'), options: parseOptions(), strict: false });
  const back = configFromFlags(values as Record<string, string | boolean>, {});
  for (const key of [
    'arch',
    'size',
    'epochs',
    'headEpochs',
    'backboneLrScale',
    'weightDecay',
    'lr',
    'lrSchedule',
    'warmupEpochs',
    'balance',
    'labelSmoothing',
    'augment',
    'ema',
    'quantize',
    'melanomaRecall',
  ] as const) {
    assert.equal(back[key], recipe[key], key);
  }
});
