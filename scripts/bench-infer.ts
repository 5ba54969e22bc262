// npm run bench:infer [-- --model <dir|model.json> [--model <another>]] [--backends wasm,tensorflow,cpu] [--runs 50] [--warmup 60]
//   [--image <file>] [--no-fold] [--repeat 1] [--json]
// Several --model: measured in one run, alternating model by model in each repeat (so both see the same
// machine load), and each model's median over its repeats is printed as a ratio to the first model's.
// --repeat runs each (model, backend) pair that many times in fresh processes (one row each): on a shared
// 2-core machine single runs vary by several ms, so the ship script takes the median over repeats.
//
// --no-fold loads the model without merging BatchNormalization into the convs (core/fold-batchnorm.ts),
// to measure what folding buys; the classifier always folds.
//
// Single-image classification latency in Node (preprocess + predict + reading the probabilities back),
// median and p90 over many runs after a warm-up, on each available backend. wasm is the one the
// extension uses; tensorflow (tfjs-node) when it is installed; cpu (pure JS) for reference.
// Default model: extension/model/ if present, else untrained compact@96 and seed@64 (said so in the output).
// Each backend runs in its own child process so they do not share caches or threads.
import { spawnSync } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { median } from '../trainer/evaluate/median.ts';

interface Row {
  backend: string;
  model: string;
  runs: number;
  medianMs: number;
  p90Ms: number;
  minMs: number;
  preprocessMedianMs: number;
  /** The first classify after loading, and the median of the first 20: what warm-up costs. */
  firstMs: number;
  first20MedianMs: number;
  note?: string;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];

async function child(
  backend: string,
  model: string,
  runs: number,
  imagePath: string | undefined,
  fold: boolean,
  warmup: number,
): Promise<Row> {
  const { tf } = await import('../core/tf.ts');
  const { initBackend } = await import('../trainer/backends/select.ts');
  const { fromModel, load } = await import('../core/classifier.ts');
  const { buildModel } = await import('../core/models.ts');
  const { preprocess } = await import('../core/preprocess.ts');
  const { fileLoadHandler } = await import('../trainer/run/model-files.ts');
  const info = await initBackend(backend as 'wasm', { allowCpuForTraining: true, nativeFastPaths: true, log: null });

  const untrained = /^untrained:(\w+)@(\d+)$/.exec(model);
  const options = { warmUp: false, foldBatchNorm: fold };
  const classifier = untrained
    ? await fromModel(buildModel(untrained[1], { inputSize: Number(untrained[2]), seed: 42 }), options)
    : await load(fileLoadHandler(model), options);
  let image;
  if (imagePath) {
    const { decodeImage } = await import('../trainer/data/images.ts');
    image = await decodeImage(imagePath);
  } else {
    // A typical dermoscopy photo size (HAM10000 is 600x450), deterministic content.
    const width = 600,
      height = 450;
    const data = new Uint8ClampedArray(width * height * 4);
    for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) >>> 24;
    image = { data, width, height };
  }
  // Warm-up. The first call compiles kernels and allocates; after it V8 still needs about 40 calls
  // (~1 s) to optimise the JS around the kernels (preprocessing, tfjs' op dispatch), and until then
  // calls take up to 2x longer. The median describes the steady state; the first calls are reported
  // apart ('first', 'first 20') so that warm-up cost is not hidden.
  const early: number[] = [];
  for (let i = 0; i < warmup; i++) {
    const t0 = performance.now();
    await classifier.classify(image);
    early.push(performance.now() - t0);
  }
  const times: number[] = [];
  const pre: number[] = [];
  const tensorsBefore = tf.memory().numTensors;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    preprocess(image, classifier.inputShape);
    pre.push(performance.now() - t0);
    const t1 = performance.now();
    await classifier.classify(image);
    times.push(performance.now() - t1);
  }
  if (tf.memory().numTensors !== tensorsBefore)
    throw new Error(`tensor leak: ${tf.memory().numTensors - tensorsBefore} tensors over ${runs} runs`);
  classifier.dispose();
  times.sort((a, b) => a - b);
  pre.sort((a, b) => a - b);
  return {
    backend: info.description + (fold ? '' : ', BatchNorm not folded'),
    model: untrained ? `${model} (untrained)` : model,
    runs,
    medianMs: percentile(times, 0.5),
    p90Ms: percentile(times, 0.9),
    minMs: times[0],
    preprocessMedianMs: percentile(pre, 0.5),
    firstMs: early[0],
    first20MedianMs: percentile(
      early.slice(0, 20).sort((a, b) => a - b),
      0.5,
    ),
  };
}

async function defaultModels(): Promise<string[]> {
  const shipped = 'extension/model/model.json';
  if (
    await stat(shipped).then(
      () => true,
      () => false,
    )
  ) {
    const card = await readFile(join('extension/model', 'model-card.json'), 'utf8').then(
      (t) => JSON.parse(t),
      () => null,
    );
    if (card?.untrained)
      console.log(`note: ${shipped} is the untrained development model (model-card.json says so); latency does not depend on the weights.`);
    return [shipped];
  }
  console.log(
    'note: no extension/model/model.json: benchmarking untrained compact@96 and seed@64 models (latency does not depend on the weights).',
  );
  return ['untrained:compact@96', 'untrained:seed@64'];
}

async function mainProcess(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string', multiple: true },
      backends: { type: 'string' },
      runs: { type: 'string' },
      image: { type: 'string' },
      json: { type: 'boolean' },
      child: { type: 'string' },
      fold: { type: 'boolean', default: true },
      warmup: { type: 'string' },
      repeat: { type: 'string' },
    },
    allowNegative: true,
  });
  const runs = Number(values.runs ?? 50);
  const warmup = Math.max(20, Number(values.warmup ?? 60));
  const repeat = Number(values.repeat ?? 1);
  if (!Number.isInteger(repeat) || repeat < 1) throw new Error(`--repeat expects a whole number >= 1, got ${values.repeat}`);
  if (values.child) {
    const row = await child(values.child, values.model![0], runs, values.image, values.fold!, warmup);
    process.stdout.write(`@@ROW ${JSON.stringify(row)}\n`);
    return;
  }
  let models: string[];
  if (values.model?.length) {
    models = [];
    for (const m of values.model) {
      const st = await stat(m).catch(() => null);
      if (!st) throw new Error(`model not found: ${m}`);
      models.push(st.isDirectory() ? join(m, 'model.json') : m);
    }
  } else {
    models = await defaultModels();
  }
  const backends = (values.backends ?? 'wasm,tensorflow,cpu').split(',');
  const rows: Row[] = [];
  const self = fileURLToPath(import.meta.url);
  for (let rep = 0; rep < repeat; rep++) {
    for (const model of models)
      for (const backend of backends) {
        const args = [
          '--import',
          'tsx',
          self,
          '--child',
          backend,
          '--model',
          model,
          '--runs',
          String(backend === 'cpu' ? Math.min(runs, 20) : runs),
          '--warmup',
          String(backend === 'cpu' ? 20 : warmup),
        ];
        if (values.image) args.push('--image', values.image);
        if (!values.fold) args.push('--no-fold');
        const r = spawnSync(process.execPath, args, { encoding: 'utf8', env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' } });
        const line = r.stdout.split('\n').find((l) => l.startsWith('@@ROW '));
        if (!line) {
          const why = (r.stderr || r.stdout)
            .trim()
            .split('\n')
            .filter((l) => !/^\s+at /.test(l))
            .slice(-2)
            .join(' ');
          console.log(`${backend}: not available (${why})`);
          continue;
        }
        rows.push(JSON.parse(line.slice(6)));
      }
  }
  if (values.json) {
    console.log(JSON.stringify(rows, null, 1));
    return;
  }
  if (models.length > 1) printRatios(rows, models, backends);
  console.log(
    `\nsingle-image classify latency (preprocess + predict + read back); median, p90 and min over the timed runs` +
      ` after ${warmup} warm-up runs; 'first' = first call after loading, 'first 20' = median of the first 20 calls`,
  );
  const ms = (v: number, w = 6) => `${v.toFixed(1).padStart(w)}ms`;
  console.log(
    `${'backend'.padEnd(62)} ${'model'.padEnd(34)} ${'runs'.padStart(4)} ${'median'.padStart(8)} ${'p90'.padStart(8)} ${'min'.padStart(8)} ${'prep'.padStart(6)} ${'first'.padStart(8)} ${'first 20'.padStart(8)}`,
  );
  for (const r of rows) {
    console.log(
      `${r.backend.slice(0, 62).padEnd(62)} ${r.model.slice(-34).padEnd(34)} ${String(r.runs).padStart(4)} ${ms(r.medianMs)} ${ms(r.p90Ms)} ${ms(r.minMs)} ${ms(r.preprocessMedianMs, 4)} ${ms(r.firstMs)} ${ms(r.first20MedianMs)}`,
    );
  }
}

/** Each model's median over its rows per backend, and its ratio to the first model's (same run, same load). */
function printRatios(rows: Row[], models: string[], backends: string[]): void {
  for (const backend of backends) {
    const of = (model: string) => median(rows.filter((r) => r.model === model && r.backend.startsWith(backend)).map((r) => r.medianMs));
    const first = of(models[0]);
    if (!Number.isFinite(first)) continue;
    for (const model of models) {
      const m = of(model);
      console.log(`${backend}: ${model}: median ${m.toFixed(1)} ms = ${(m / first).toFixed(2)}x ${models[0]}`);
    }
  }
}

await mainProcess();
