// Training speed of the seed model on tfjs-backend-wasm (SIMD, 1 thread) with the first working set
// of training kernels ('baseline': only the missing Conv2DBackpropFilter, as per-tap matmuls) against
// the optimized set of trainer/backends/wasm/. Batches of the variants alternate, so load from other processes
// hits them alike; the median ms per batch of each (wall clock, and CPU time of this process, which
// other load inflates less) is printed with its speed-up over the baseline.
//
//   npm run bench:train:wasm                    # seed, 64 px, batch 32, 2 warm-up + 5 timed each
//   npm run bench:train:wasm -- --ablate        # also the optimized set minus each single change
//   npm run bench:train:wasm -- --batches 9 --size 96
import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import { tf } from '../core/tf.ts';
import { buildModel } from '../core/models.ts';
import { NUM_CLASSES } from '../core/labels.ts';
import { useWasmBackendInNode } from '../trainer/backends/wasm/node-setup.ts';
import { median } from '../trainer/evaluate/median.ts';
import {
  BASELINE_WASM_KERNELS,
  OPTIMIZED_WASM_KERNELS,
  registerWasmTrainingKernels,
  type WasmTrainingKernelOptions,
} from '../trainer/backends/wasm/register.ts';

export interface WasmBenchVariant {
  name: string;
  kernels: WasmTrainingKernelOptions;
}

export interface WasmBenchResult {
  name: string;
  kernels: WasmTrainingKernelOptions;
  /** Wall-clock ms of each timed batch. */
  batchMs: number[];
  medianMs: number;
  /** Process CPU ms (user + system) of each timed batch: less sensitive than wall time to other load. */
  batchCpuMs: number[];
  medianCpuMs: number;
}

export interface WasmBenchOptions {
  arch?: string;
  inputSize?: number;
  batchSize?: number;
  warmup?: number;
  batches?: number;
  variants?: WasmBenchVariant[];
  /** Called after every timed batch, e.g. for progress output. */
  onBatch?: (variant: string, ms: number) => void;
}

/** 'baseline' and 'optimized'; with ablate, also 'optimized - X' for every switch X. */
export function standardVariants(ablate = false): WasmBenchVariant[] {
  const variants: WasmBenchVariant[] = [
    { name: 'baseline', kernels: { ...BASELINE_WASM_KERNELS } },
    { name: 'optimized', kernels: { ...OPTIMIZED_WASM_KERNELS } },
  ];
  if (ablate) {
    for (const key of Object.keys(OPTIMIZED_WASM_KERNELS) as (keyof WasmTrainingKernelOptions)[]) {
      variants.push({ name: `optimized - ${key}`, kernels: { ...OPTIMIZED_WASM_KERNELS, [key]: false } });
    }
  }
  return variants;
}

/**
 * Trains one model on one synthetic batch with each kernel variant in turn (round-robin, so slow
 * drifts in machine load spread evenly), after `warmup` untimed batches per variant. Starts the wasm
 * backend if needed and leaves the optimized kernels registered.
 */
export async function benchWasmTraining(options: WasmBenchOptions = {}): Promise<WasmBenchResult[]> {
  const { arch = 'seed', inputSize = 64, batchSize = 32, warmup = 2, batches = 5 } = options;
  const variants = options.variants ?? standardVariants();
  if (!(batches >= 1 && warmup >= 0)) throw new Error(`Need batches >= 1 and warmup >= 0, got ${batches} and ${warmup}.`);
  await useWasmBackendInNode();
  const model = buildModel(arch, { inputSize, seed: 1 });
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy' });
  const xs = tf.randomUniform([batchSize, inputSize, inputSize, 3], 0, 1, 'float32', 1);
  const ys = tf.oneHot(
    tf.tensor1d(
      Array.from({ length: batchSize }, (_, i) => i % NUM_CLASSES),
      'int32',
    ),
    NUM_CLASSES,
  );
  const step = async (variant: WasmBenchVariant): Promise<{ ms: number; cpuMs: number }> => {
    registerWasmTrainingKernels(variant.kernels);
    const cpuStart = process.cpuUsage();
    const start = performance.now();
    const loss = await model.trainOnBatch(xs, ys);
    const ms = performance.now() - start;
    const cpu = process.cpuUsage(cpuStart);
    if (!Number.isFinite(loss as number)) throw new Error(`${variant.name}: loss is ${loss}`);
    return { ms, cpuMs: (cpu.user + cpu.system) / 1000 };
  };
  try {
    for (const variant of variants) for (let i = 0; i < warmup; i++) await step(variant);
    const times = variants.map(() => [] as number[]);
    const cpuTimes = variants.map(() => [] as number[]);
    for (let i = 0; i < batches; i++) {
      for (const [v, variant] of variants.entries()) {
        const { ms, cpuMs } = await step(variant);
        times[v].push(ms);
        cpuTimes[v].push(cpuMs);
        options.onBatch?.(variant.name, ms);
      }
    }
    return variants.map((variant, v) => ({
      name: variant.name,
      kernels: variant.kernels,
      batchMs: times[v],
      medianMs: median(times[v]),
      batchCpuMs: cpuTimes[v],
      medianCpuMs: median(cpuTimes[v]),
    }));
  } finally {
    registerWasmTrainingKernels('optimized');
    tf.dispose([xs, ys]);
    model.dispose();
  }
}

const HELP = `Usage: npm run bench:train:wasm -- [options]
  --arch NAME       seed | compact (default seed)
  --size PX         input size (default 64)
  --batch-size N    images per batch (default 32)
  --warmup N        untimed batches per variant first (default 2)
  --batches N       timed batches per variant (default 5)
  --ablate          also time the optimized set with each single change switched off`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      arch: { type: 'string', default: 'seed' },
      size: { type: 'string', default: '64' },
      'batch-size': { type: 'string', default: '32' },
      warmup: { type: 'string', default: '2' },
      batches: { type: 'string', default: '5' },
      ablate: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const number = (name: string, text: string): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a whole number, got "${text}".\n${HELP}`);
    return n;
  };
  const opts = {
    arch: values.arch,
    inputSize: number('size', values.size),
    batchSize: number('batch-size', values['batch-size']),
    warmup: number('warmup', values.warmup),
    batches: number('batches', values.batches),
  };
  const variants = standardVariants(values.ablate);
  console.log(
    `wasm training, ${opts.arch} model, ${opts.inputSize} px, batch ${opts.batchSize}: ` +
      `${opts.warmup} warm-up + ${opts.batches} timed batches per variant, alternating; load average ${loadavg()[0].toFixed(2)}`,
  );
  const results = await benchWasmTraining({
    ...opts,
    variants,
    onBatch: (name, ms) => process.stderr.write(`  ${name}: ${ms.toFixed(0)} ms\n`),
  });
  const baseline = results.find((r) => r.name === 'baseline');
  console.log(
    `\n${'variant'.padEnd(36)}${'median ms/batch'.padStart(16)}${'min'.padStart(8)}${'max'.padStart(8)}` +
      `${'vs baseline'.padStart(13)}${'median CPU ms'.padStart(15)}${'vs baseline'.padStart(13)}`,
  );
  for (const r of results) {
    const ratio = (base: number, value: number) => (baseline ? `${(base / value).toFixed(2)}x` : '');
    console.log(
      `${r.name.padEnd(36)}${r.medianMs.toFixed(0).padStart(16)}${Math.min(...r.batchMs)
        .toFixed(0)
        .padStart(8)}` +
        `${Math.max(...r.batchMs)
          .toFixed(0)
          .padStart(8)}${ratio(baseline?.medianMs ?? 0, r.medianMs).padStart(13)}` +
        `${r.medianCpuMs.toFixed(0).padStart(15)}${ratio(baseline?.medianCpuMs ?? 0, r.medianCpuMs).padStart(13)}`,
    );
  }
  console.log(`load average after: ${loadavg()[0].toFixed(2)}`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
