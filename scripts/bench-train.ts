// Training-throughput benchmark: the trainer's own step (trainer/train/step.ts trainOneBatch: augmentation,
// learning rates, forward/backward, each parameter group's update) of a core/ model on synthetic data,
// on every backend available here, and optionally Keras on the same network in the same run.
// Prints median ms/batch and images/s after warm-up.
//
//   npm run bench:train                        # seed model, 64 px, batch 32, all backends
//   npm run bench:train -- --backends tensorflow --batches 30
//   npm run bench:train -- --arch mobilenetv2 --size 128 --augment strong --peer keras
//
// Backends: 'tensorflow-stock' (tfjs-node, stock tfjs kernels), 'tensorflow' (tfjs-node with the native
// fast paths of trainer/backends/native/), 'wasm' (SIMD, 1 thread, with trainer/backends/wasm/ kernels). --peer keras runs
// scripts/bench-train-keras.py (the same network in Keras) right after, and prints the ratio. Other
// processes on the machine skew the numbers: the load average is printed alongside.
import { parseArgs } from 'node:util';
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { tf } from '../core/tf.ts';
import { inputTensorShape, isArchitectureName, ARCHITECTURES } from '../core/models.ts';
import { NUM_CLASSES } from '../core/labels.ts';
import { initBackend, loadTfjsNode, pooledAllocatorSetHere, POOLED_CPU_ALLOCATOR } from '../trainer/backends/select.ts';
import { makeRng } from '../trainer/data/rng.ts';
import { createStepper, trainOneBatch, type Stepper } from '../trainer/train/step.ts';
import { DEFAULT_TRAIN_CONFIG, type TrainConfig } from '../trainer/run/config.ts';
import { median } from '../trainer/evaluate/median.ts';

const VARIANTS = ['tensorflow-stock', 'tensorflow', 'wasm'] as const;
type Variant = (typeof VARIANTS)[number];

const HELP = `Usage: npm run bench:train -- [options]
  --backends LIST     comma-separated: ${VARIANTS.join(', ')} (default: all available)
  --arch NAME         ${Object.keys(ARCHITECTURES).join(' | ')} (default seed)
  --size PX           input size (default 64)
  --batch-size N      images per batch (default 32)
  --warmup N          untimed batches first (default 5 native, 1 wasm)
  --batches N         timed batches (default 15 native, 3 wasm)
  --augment NAME      original | strong | none (default original)
  --label-smoothing X (default 0.1, as the shipped recipes)
  --freeze-until K    mobilenetv2: stem and blocks 0..K-1 frozen, as dermlens train (default 0)
  --peer keras        also time the same network and step in Keras (python3 with tensorflow), same run
  --seed N            data / augmentation seed (default 1)
  --interleave        alternate the tensorflow variants batch by batch (same machine load for both; but
                      one variant's JS garbage is partly collected during the other's steps)`;

interface BenchArgs {
  config: TrainConfig;
  warmup: number;
  batches: number;
}

/** One Stepper (model, optimizers, augmentation) and a synthetic batch on the current backend. */
class TrainingRun {
  readonly stepMs: number[] = [];
  finalLoss = NaN;
  private readonly stepper: Stepper;
  private readonly x: tf.Tensor4D;
  private readonly y: tf.Tensor2D;
  private readonly augRng: () => number;
  private steps = 0;

  constructor(
    readonly variant: Variant,
    readonly description: string,
    private readonly args: BenchArgs,
  ) {
    const { config } = args;
    this.stepper = createStepper(config, null, null);
    this.augRng = makeRng(config.seed);
    this.x = tf.randomUniform([config.batch, ...inputTensorShape(config.size)], 0, 1, 'float32', config.seed) as tf.Tensor4D;
    this.y = tf.tidy(() =>
      tf.oneHot(tf.randomUniform([config.batch], 0, NUM_CLASSES, 'int32', config.seed + 1), NUM_CLASSES),
    ) as tf.Tensor2D;
  }

  get done(): boolean {
    return this.steps >= this.args.warmup + this.args.batches;
  }

  async step(): Promise<void> {
    const t0 = performance.now();
    // trainOneBatch takes ownership of its inputs, as in the trainer (which makes each batch anew).
    const [x, y] = [tf.clone(this.x), tf.clone(this.y)];
    // Epoch 1 after zero head epochs: every group the recipe trains is active.
    this.finalLoss = await trainOneBatch(this.stepper, x, y, {
      step: this.steps,
      epoch: this.args.config.headEpochs + 1,
      lr: 1e-3,
      augRng: this.augRng,
    });
    const ms = performance.now() - t0;
    const warm = this.steps < this.args.warmup;
    if (!warm) this.stepMs.push(ms);
    this.steps++;
    process.stderr.write(
      `\r  ${this.variant}: batch ${this.steps}/${this.args.warmup + this.args.batches} ${ms.toFixed(0)} ms${warm ? ' (warm-up)' : ''}   `,
    );
  }

  dispose(): void {
    tf.dispose([this.x, this.y]);
    this.stepper.groups.head.optimizer.dispose();
    this.stepper.groups.backbone?.optimizer.dispose();
    this.stepper.model.dispose();
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
      backends: { type: 'string' },
      arch: { type: 'string', default: 'seed' },
      size: { type: 'string', default: '64' },
      'batch-size': { type: 'string', default: '32' },
      warmup: { type: 'string' },
      batches: { type: 'string' },
      augment: { type: 'string', default: 'original' },
      'label-smoothing': { type: 'string', default: '0.1' },
      'freeze-until': { type: 'string', default: '0' },
      peer: { type: 'string' },
      seed: { type: 'string', default: '1' },
      interleave: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
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
    variants = values.backends
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean) as Variant[];
    for (const v of variants) {
      if (!VARIANTS.includes(v)) throw new Error(`Unknown backend "${v}" in --backends (${VARIANTS.join(', ')}).`);
      if (!available.includes(v)) throw new Error(`Backend "${v}" is not available: ${'error' in nodeLoad ? nodeLoad.error : ''}`);
    }
  } else {
    variants = available;
    if ('error' in nodeLoad) console.log(`tensorflow variants skipped: ${nodeLoad.error}`);
  }

  const augment = values.augment!;
  if (!['original', 'strong', 'none'].includes(augment)) throw new Error(`Unknown --augment "${augment}" (original | strong | none).`);
  const labelSmoothing = Number(values['label-smoothing']);
  const freezeUntil = int('freeze-until', values['freeze-until'], 0)!;
  if (values.peer !== undefined && values.peer !== 'keras') throw new Error(`Unknown --peer "${values.peer}" (keras).`);
  const config: TrainConfig = {
    ...DEFAULT_TRAIN_CONFIG,
    dataDir: '',
    outDir: '',
    arch,
    size,
    batch: batchSize,
    seed,
    augment: augment as TrainConfig['augment'],
    labelSmoothing,
    freezeUntil,
    ...(arch === 'mobilenetv2' ? { backboneLrScale: 0.1, weightDecay: 0.05 } : {}),
  };
  console.log(
    `bench:train ${arch} at ${size} px, batch ${batchSize}, the trainer's step (trainOneBatch): augmentation '${augment}', ` +
      `label smoothing ${labelSmoothing}${arch === 'mobilenetv2' ? `, freeze-until ${freezeUntil}, backbone at 0.1x lr, weight decay 0.05` : ''}`,
  );
  console.log(
    `load average at start: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} (other processes skew the timings)`,
  );

  const argsFor = (variant: Variant): BenchArgs => {
    const native = variant !== 'wasm';
    return {
      config,
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

  const peer =
    values.peer === 'keras' ? runKerasPeer(config, int('warmup', values.warmup, 0) ?? 5, int('batches', values.batches, 1) ?? 15) : null;

  console.log('');
  console.log('| trainer | timed batches | ms/batch (median) | images/s | min-max ms | last loss |');
  console.log('|---|---|---|---|---|---|');
  for (const r of results) {
    const ms = median(r.stepMs);
    console.log(
      `| ${r.variant}: ${r.description} | ${r.stepMs.length} | ${ms.toFixed(1)} | ${(batchSize / (ms / 1000)).toFixed(1)} | ` +
        `${Math.min(...r.stepMs).toFixed(0)}-${Math.max(...r.stepMs).toFixed(0)} | ${r.finalLoss.toFixed(4)} |`,
    );
  }
  if (peer === null) return;
  if ('error' in peer) {
    console.log(`\nKeras peer unavailable: ${peer.error}`);
    return;
  }
  console.log(
    `| keras: ${peer.description} | ${peer.batches} | ${peer.medianMs.toFixed(1)} | ${(batchSize / (peer.medianMs / 1000)).toFixed(1)} | ` +
      `${peer.minMs.toFixed(0)}-${peer.maxMs.toFixed(0)} | ${peer.lastLoss.toFixed(4)} |`,
  );
  console.log('');
  for (const r of results) {
    const ratio = peer.medianMs / median(r.stepMs);
    console.log(
      `DermLens ${r.variant} vs Keras: ${ratio.toFixed(2)}x Keras' speed (${ratio >= 1 ? 'faster' : 'slower'}; Keras ms / DermLens ms)`,
    );
  }
}

type PeerResult =
  { description: string; medianMs: number; minMs: number; maxMs: number; batches: number; lastLoss: number } | { error: string };

/** scripts/bench-train-keras.py on the same network, batch and augmentation; its last stdout line is JSON. */
function runKerasPeer(config: TrainConfig, warmup: number, batches: number): PeerResult {
  if (config.arch !== 'seed' && config.arch !== 'mobilenetv2')
    return { error: `no Keras twin of --arch ${config.arch} (seed | mobilenetv2)` };
  const script = fileURLToPath(new URL('./bench-train-keras.py', import.meta.url));
  const args = [
    script,
    '--arch',
    config.arch,
    '--size',
    String(config.size),
    '--batch-size',
    String(config.batch),
    '--augment',
    config.augment,
    '--freeze-until',
    String(config.freezeUntil),
    '--warmup',
    String(warmup),
    '--batches',
    String(batches),
    '--seed',
    String(config.seed),
  ];
  // Keras runs as its users run it: with TF's default allocator unless the pooled one was asked for in the
  // environment (then both sides get it: `TF_CPU_ALLOCATOR_USE_BFC=true npm run bench:train -- ... --peer keras`).
  const env = { ...process.env };
  if (pooledAllocatorSetHere()) delete env[POOLED_CPU_ALLOCATOR];
  const run = spawnSync('python3', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], env });
  if (run.error) return { error: `python3 could not be started (${run.error.message})` };
  const last = run.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(last) as PeerResult;
  } catch {
    return { error: `python3 ${args.join(' ')} exited with ${run.status} and printed no result` };
  }
}

main().catch((err) => {
  console.error(`bench:train: ${(err as Error).message}`);
  process.exit(1);
});
