// npm run bench:infer [-- --model <dir|model.json>] [--backends wasm,tensorflow,cpu] [--runs 50] [--image <file>]
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

interface Row { backend: string; model: string; runs: number; medianMs: number; p90Ms: number; minMs: number; preprocessMedianMs: number; note?: string }

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];

async function child(backend: string, model: string, runs: number, imagePath: string | undefined): Promise<Row> {
  const { tf } = await import('../core/tf.ts');
  const { initBackend } = await import('../trainer/backend.ts');
  const { Classifier, load } = await import('../core/classifier.ts');
  const { buildModel } = await import('../core/models.ts');
  const { preprocess } = await import('../core/preprocess.ts');
  const { fileLoadHandler } = await import('../trainer/model-io.ts');
  const info = await initBackend(backend as 'wasm', { allowCpuForTraining: true, nativeFastPaths: true, log: null });

  let classifier: InstanceType<typeof Classifier>;
  const untrained = /^untrained:(\w+)@(\d+)$/.exec(model);
  if (untrained) {
    classifier = new Classifier(buildModel(untrained[1], { inputSize: Number(untrained[2]), seed: 42 }));
  } else {
    classifier = await load(fileLoadHandler(model), { warmUp: false });
  }
  let image;
  if (imagePath) {
    const { decodeImage } = await import('../trainer/images.ts');
    image = await decodeImage(imagePath);
  } else {
    // A typical dermoscopy photo size (HAM10000 is 600x450), deterministic content.
    const width = 600, height = 450;
    const data = new Uint8ClampedArray(width * height * 4);
    for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) >>> 24;
    image = { data, width, height };
  }
  for (let i = 0; i < 5; i++) await classifier.classify(image); // warm-up: kernel compilation, allocation
  const times: number[] = [];
  const pre: number[] = [];
  const tensorsBefore = tf.memory().numTensors;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    preprocess(image, classifier.inputSize);
    pre.push(performance.now() - t0);
    const t1 = performance.now();
    await classifier.classify(image);
    times.push(performance.now() - t1);
  }
  if (tf.memory().numTensors !== tensorsBefore) throw new Error(`tensor leak: ${tf.memory().numTensors - tensorsBefore} tensors over ${runs} runs`);
  classifier.dispose();
  times.sort((a, b) => a - b);
  pre.sort((a, b) => a - b);
  return {
    backend: info.description, model: untrained ? `${model} (untrained)` : model, runs,
    medianMs: percentile(times, 0.5), p90Ms: percentile(times, 0.9), minMs: times[0], preprocessMedianMs: percentile(pre, 0.5),
  };
}

async function defaultModels(): Promise<string[]> {
  const shipped = 'extension/model/model.json';
  if (await stat(shipped).then(() => true, () => false)) {
    const card = await readFile(join('extension/model', 'model-card.json'), 'utf8').then((t) => JSON.parse(t), () => null);
    if (card?.untrained) console.log(`note: ${shipped} is the untrained development model (model-card.json says so); latency does not depend on the weights.`);
    return [shipped];
  }
  console.log('note: no extension/model/model.json: benchmarking untrained compact@96 and seed@64 models (latency does not depend on the weights).');
  return ['untrained:compact@96', 'untrained:seed@64'];
}

async function mainProcess(): Promise<void> {
  const { values } = parseArgs({ options: {
    model: { type: 'string' }, backends: { type: 'string' }, runs: { type: 'string' }, image: { type: 'string' }, json: { type: 'boolean' },
    child: { type: 'string' },
  } });
  const runs = Number(values.runs ?? 50);
  if (values.child) {
    const row = await child(values.child, values.model!, runs, values.image);
    process.stdout.write(`@@ROW ${JSON.stringify(row)}\n`);
    return;
  }
  let models: string[];
  if (values.model) {
    const st = await stat(values.model).catch(() => null);
    if (!st) throw new Error(`model not found: ${values.model}`);
    models = [st.isDirectory() ? join(values.model, 'model.json') : values.model];
  } else {
    models = await defaultModels();
  }
  const backends = (values.backends ?? 'wasm,tensorflow,cpu').split(',');
  const rows: Row[] = [];
  const self = fileURLToPath(import.meta.url);
  for (const model of models) {
    for (const backend of backends) {
      const args = ['--import', 'tsx', self, '--child', backend, '--model', model, '--runs', String(backend === 'cpu' ? Math.min(runs, 20) : runs)];
      if (values.image) args.push('--image', values.image);
      const r = spawnSync(process.execPath, args, { encoding: 'utf8', env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' } });
      const line = r.stdout.split('\n').find((l) => l.startsWith('@@ROW '));
      if (!line) {
        const why = (r.stderr || r.stdout).trim().split('\n').filter((l) => !/^\s+at /.test(l)).slice(-2).join(' ');
        console.log(`${backend}: not available (${why})`);
        continue;
      }
      rows.push(JSON.parse(line.slice(6)));
    }
  }
  if (values.json) { console.log(JSON.stringify(rows, null, 1)); return; }
  console.log(`\nsingle-image classify latency (preprocess + predict + read back), after 5 warm-up runs`);
  console.log(`${'backend'.padEnd(62)} ${'model'.padEnd(34)} ${'runs'.padStart(4)} ${'median'.padStart(8)} ${'p90'.padStart(8)} ${'min'.padStart(8)} ${'prep'.padStart(6)}`);
  for (const r of rows) {
    console.log(`${r.backend.slice(0, 62).padEnd(62)} ${r.model.slice(-34).padEnd(34)} ${String(r.runs).padStart(4)} ${r.medianMs.toFixed(1).padStart(6)}ms ${r.p90Ms.toFixed(1).padStart(6)}ms ${r.minMs.toFixed(1).padStart(6)}ms ${r.preprocessMedianMs.toFixed(1).padStart(4)}ms`);
  }
}

await mainProcess();
