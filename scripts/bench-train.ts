// Training-throughput benchmark: one training step (augmentation + trainOnBatch) of a core/ model on
// synthetic data, on every backend available here. Prints median ms/batch and images/s after warm-up.
//
//   npm run bench:train                        # seed model, 64 px, batch 32, all backends
//   npm run bench:train -- --backends tensorflow --batches 30
//   npm run bench:train -- --no-augment --arch compact --size 96
//
// Backends: 'tensorflow-stock' (tfjs-node, stock tfjs kernels), 'tensorflow' (tfjs-node with the native
// fast paths of trainer/native/), 'wasm' (SIMD, 1 thread, with trainer/wasm/ kernels). Other processes
// on the machine skew the numbers: the load average is printed alongside.
import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { tf } from '../core/tf.ts';
import { buildModel, isArchitectureName, ARCHITECTURES } from '../core/models.ts';
import { NUM_CLASSES } from '../core/labels.ts';
import { initBackend, loadTfjsNode } from '../trainer/backend.ts';
import { median } from './median.ts';

const VARIANTS = ['tensorflow-stock', 'tensorflow', 'wasm'] as const;
type Variant = typeof VARIANTS[number];

const HELP = `Usage: npm run bench:train -- [options]
  --backends LIST     comma-separated: ${VARIANTS.join(', ')} (default: all available)
  --arch NAME         ${Object.keys(ARCHITECTURES).join(' | ')} (default seed)
  --size PX           input size (default 64)
  --batch-size N      images per batch (default 32)
  --warmup N          untimed batches first (default 5 native, 1 wasm)
  --batches N         timed batches (default 15 native, 3 wasm)
  --augment NAME      original | strong (default original), --no-augment to time the train step alone
  --seed N            data / augmentation seed (default 1)
  --interleave        alternate the tensorflow variants batch by batch (same machine load for both; but
                      one variant's JS garbage is partly collected during the other's steps)`;

interface Augmenter {
  name: string;
  apply(x: tf.Tensor4D): tf.Tensor4D;
}

/** The trainer's augmentation (trainer/augment.ts) if that module exists, else null. */
async function loadAugmenter(recipe: string, seed: number): Promise<Augmenter | null> {
  const modulePath = fileURLToPath(new URL('../trainer/augment.ts', import.meta.url));
  if (!existsSync(modulePath)) return null;
  const augment = await import('../trainer/augment.ts');
  const opts = recipe === 'strong' ? augment.STRONG_AUGMENT : recipe === 'original' ? augment.ORIGINAL_AUGMENT : null;
  if (opts == null) throw new Error(`Unknown --augment "${recipe}" (original | strong).`);
  const rng = augment.makeRng(seed);
  return { name: recipe, apply: (x) => augment.augmentBatch(x, rng, opts) };
}

interface BenchArgs {
  arch: string; size: number; batchSize: number; warmup: number; batches: number; seed: number; augmenter: Augmenter | null;
}

/** One model + optimizer + synthetic batch on the current backend, stepping one batch at a time. */
class TrainingRun {
  readonly stepMs: number[] = [];
  readonly augmentMs: number[] = [];
  finalLoss = NaN;
  private readonly model: tf.LayersModel;
  private readonly x: tf.Tensor4D;
  private readonly y: tf.Tensor;
  private steps = 0;

  constructor(readonly variant: Variant, readonly description: string, private readonly args: BenchArgs) {
    this.model = buildModel(args.arch, { inputSize: args.size, seed: args.seed });
    this.model.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    this.x = tf.randomUniform([args.batchSize, args.size, args.size, 3], 0, 1, 'float32', args.seed) as tf.Tensor4D;
    this.y = tf.tidy(() => tf.oneHot(tf.randomUniform([args.batchSize], 0, NUM_CLASSES, 'int32', args.seed + 1), NUM_CLASSES));
  }

  get done(): boolean { return this.steps >= this.args.warmup + this.args.batches; }

  async step(): Promise<void> {
    const t0 = performance.now();
    const input = this.args.augmenter ? this.args.augmenter.apply(this.x) : this.x;
    const t1 = performance.now();
    const out = await this.model.trainOnBatch(input, this.y);
    const t2 = performance.now();
    if (input !== this.x) input.dispose();
    this.finalLoss = Array.isArray(out) ? out[0] : out;
    const warm = this.steps < this.args.warmup;
    if (!warm) {
      this.stepMs.push(t2 - t0);
      this.augmentMs.push(t1 - t0);
    }
    this.steps++;
    process.stderr.write(`\r  ${this.variant}: batch ${this.steps}/${this.args.warmup + this.args.batches} ${(t2 - t0).toFixed(0)} ms${warm ? ' (warm-up)' : ''}   `);
  }

  dispose(): void {
    tf.dispose([this.x, this.y]);
    this.model.optimizer.dispose();
    this.model.dispose();
  }
}

/** Makes `variant` the active backend configuration; returns its description. */
async function activate(variant: Variant): Promise<string> {
  const info = await initBackend(variant === 'wasm' ? 'wasm' : 'tensorflow', { nativeFastPaths: variant === 'tensorflow', log: null });
  return info.description;
}

/** Runs the variants one after the other, or (interleave) alternating batch by batch so both see the same machine load. */
async function benchVariants(variants: Variant[], argsFor: (v: Variant) => BenchArgs, interleave: boolean): Promise<TrainingRun[]> {
  const results: TrainingRun[] = [];
  if (interleave) {
    const runs: TrainingRun[] = [];
    for (const v of variants) runs.push(new TrainingRun(v, await activate(v), argsFor(v)));
    for (let round = 0; runs.some((r) => !r.done); round++) {
      // Swap the order every round: a step's JS garbage is often collected during the next step.
      for (const run of round % 2 === 0 ? runs : [...runs].reverse()) {
        if (run.done) continue;
        await activate(run.variant);
        await run.step();
      }
    }
    process.stderr.write('\n');
    runs.forEach((r) => r.dispose());
    return runs;
  }
  for (const v of variants) {
    const run = new TrainingRun(v, await activate(v), argsFor(v));
    while (!run.done) await run.step();
    process.stderr.write('\n');
    run.dispose();
    results.push(run);
  }
  return results;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      backends: { type: 'string' }, arch: { type: 'string', default: 'seed' }, size: { type: 'string', default: '64' },
      'batch-size': { type: 'string', default: '32' }, warmup: { type: 'string' }, batches: { type: 'string' },
      augment: { type: 'string', default: 'original' }, 'no-augment': { type: 'boolean', default: false },
      seed: { type: 'string', default: '1' }, interleave: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) { console.log(HELP); return; }
  const int = (name: string, raw: string | undefined, min: number): number | undefined => {
    if (raw == null) return undefined;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got "${raw}".`);
    return n;
  };
  const arch = values.arch!;
  if (!isArchitectureName(arch)) throw new Error(`Unknown --arch "${arch}" (${Object.keys(ARCHITECTURES).join(' | ')}).`);
  const size = int('size', values.size, 16)!;
  const batchSize = int('batch-size', values['batch-size'], 1)!;
  const seed = int('seed', values.seed, 0)!;

  const nodeLoad = await loadTfjsNode();
  const available: Variant[] = 'error' in nodeLoad ? ['wasm'] : [...VARIANTS];
  let variants: Variant[];
  if (values.backends != null) {
    variants = values.backends.split(',').map((s) => s.trim()).filter(Boolean) as Variant[];
    for (const v of variants) {
      if (!VARIANTS.includes(v)) throw new Error(`Unknown backend "${v}" in --backends (${VARIANTS.join(', ')}).`);
      if (!available.includes(v)) throw new Error(`Backend "${v}" is not available: ${'error' in nodeLoad ? nodeLoad.error : ''}`);
    }
  } else {
    variants = available;
    if ('error' in nodeLoad) console.log(`tensorflow variants skipped: ${nodeLoad.error}`);
  }

  const augmenter = values['no-augment'] ? null : await loadAugmenter(values.augment!, seed);
  const augmentNote = values['no-augment'] ? 'no augmentation (--no-augment)'
    : augmenter ? `with augmentation '${augmenter.name}' (trainer/augment.ts) in each step`
      : 'train step alone: trainer/augment.ts does not exist yet, so no augmentation';
  console.log(`bench:train ${arch} at ${size} px, batch ${batchSize}, Adam; ${augmentNote}`);
  console.log(`load average at start: ${loadavg().map((l) => l.toFixed(2)).join(' ')} (other processes skew the timings)`);

  const argsFor = (variant: Variant): BenchArgs => {
    const native = variant !== 'wasm';
    return {
      arch, size, batchSize, seed, augmenter,
      warmup: int('warmup', values.warmup, 0) ?? (native ? 5 : 1),
      batches: int('batches', values.batches, 1) ?? (native ? 15 : 3),
    };
  };
  const nativeVariants = variants.filter((v) => v !== 'wasm');
  const interleave = values.interleave! && nativeVariants.length > 1;
  if (interleave) console.log(`${nativeVariants.join(' and ')} alternate batch by batch (--interleave)`);
  const results = [
    ...(await benchVariants(nativeVariants, argsFor, interleave)),
    ...(variants.includes('wasm') ? await benchVariants(['wasm'], argsFor, false) : []),
  ];

  console.log('');
  console.log('| backend | timed batches | ms/batch (median) | images/s | augmentation ms (median) | min-max ms | last loss |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of results) {
    const ms = median(r.stepMs);
    console.log(`| ${r.variant}: ${r.description} | ${r.stepMs.length} | ${ms.toFixed(1)} | ${(batchSize / (ms / 1000)).toFixed(1)} | `
      + `${augmenter ? median(r.augmentMs).toFixed(1) : '-'} | ${Math.min(...r.stepMs).toFixed(0)}-${Math.max(...r.stepMs).toFixed(0)} | ${r.finalLoss.toFixed(4)} |`);
  }
}

main().catch((err) => {
  console.error(`bench:train: ${(err as Error).message}`);
  process.exit(1);
});
