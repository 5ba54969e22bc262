// Transfer learning through the trainer (cpu backend, synthetic data, a small stand-in backbone in the
// import-backbone folder layout): the pretrained weights are copied in, the head warm-up leaves the
// backbone untouched, --freeze-until keeps early blocks at the pretrained values, the backbone has its
// own optimizer in the checkpoint, and a killed run resumes to exactly the uninterrupted result.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '@tensorflow/tfjs-backend-cpu';
import { tf } from '../../core/tf.ts';
import { buildMobileNetV2, mobilenetV2BlockOf } from '../../core/mobilenet-v2.ts';
import { initBackend } from '../../trainer/backends/select.ts';
import { BACKBONE_INFO, type BackboneInfo } from '../../trainer/model/backbone.ts';
import { findCheckpoint, restoreModelWeights } from '../../trainer/train/checkpoint.ts';
import { fileLoadHandler, fileSaveHandler } from '../../trainer/run/model-files.ts';
import { train } from '../../trainer/train/train.ts';
import { paramGroups } from '../../trainer/train/step.ts';
import { DEFAULT_TRAIN_CONFIG, type TrainConfig } from '../../trainer/run/config.ts';
import { writeSyntheticHam, type SyntheticHam } from './helpers/synthetic-ham.ts';

let root: string;
let data: SyntheticHam;
let backboneDir: string;
const quiet = { progress: 'off' as const, log: () => {} };

/** Weights by layer name of a saved model. */
async function layerWeights(modelJson: string): Promise<Map<string, Float32Array[]>> {
  const model = await tf.loadLayersModel(fileLoadHandler(modelJson));
  const out = new Map(model.layers.map((l) => [l.name, l.getWeights().map((w) => (w.dataSync() as Float32Array).slice())]));
  model.dispose();
  return out;
}
/** Weights by layer name of a run's last checkpoint (the last epoch's network). */
async function checkpointLayerWeights(runDir: string): Promise<Map<string, Float32Array[]>> {
  const model = buildMobileNetV2({ inputSize: 32, seed: 3 });
  // getWeights() lists trainable weights first, so the frozen layers must be frozen as in training.
  const groups = paramGroups(model, config(runDir));
  groups.head.optimizer.dispose();
  groups.backbone?.optimizer.dispose();
  await restoreModelWeights((await findCheckpoint(runDir))!, 'model', model);
  const out = new Map(model.layers.map((l) => [l.name, l.getWeights().map((w) => (w.dataSync() as Float32Array).slice())]));
  model.dispose();
  return out;
}
const close = (a: Float32Array[], b: Float32Array[]) =>
  a.length === b.length && a.every((w, i) => w.every((v, j) => Math.abs(v - b[i][j]) <= 1e-5 * (1 + Math.abs(v))));
const same = (a: Float32Array[], b: Float32Array[]) => a.length === b.length && a.every((w, i) => w.every((v, j) => v === b[i][j]));

function config(outDir: string, overrides: Partial<TrainConfig> = {}): TrainConfig {
  return {
    ...DEFAULT_TRAIN_CONFIG,
    dataDir: data.dir,
    outDir,
    arch: 'mobilenetv2',
    size: 32,
    epochs: 3,
    batch: 16,
    seed: 3,
    lr: 3e-3,
    backbone: backboneDir,
    headEpochs: 1,
    freezeUntil: 3,
    backboneLrScale: 0.1,
    weightDecay: 0.01,
    ...overrides,
  };
}

describe('transfer learning in dermlens train (cpu backend)', { timeout: 300_000 }, () => {
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'dermlens-transfer-'));
    data = await writeSyntheticHam(join(root, 'data'), { perClass: 8 });
    await initBackend('cpu', { allowCpuForTraining: true, log: null });
    // A stand-in for an imported MobileNetV2 (same layers, other weights), in import-backbone's layout.
    backboneDir = join(root, 'backbone');
    const stand = buildMobileNetV2({ inputSize: 32, seed: 99, rescaling: { scale: 2, offset: -1 } });
    await stand.save(fileSaveHandler(backboneDir));
    stand.dispose();
    const info: BackboneInfo = {
      format: 'dermlens-backbone-v1',
      sourceFile: 'stand-in.tflite',
      sha256: 'ab'.repeat(32),
      bytes: 1,
      knownAs: null,
      description: null,
      licence: null,
      rescaling: { scale: 2, offset: -1 },
      opCounts: {},
      weightQuantization: {},
      parameters: 0,
    };
    await writeFile(join(backboneDir, BACKBONE_INFO), JSON.stringify(info));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test('parameter groups: frozen stem and blocks below --freeze-until, the head apart from the backbone', () => {
    const model = buildMobileNetV2({ inputSize: 32 });
    const groups = paramGroups(model, { arch: 'mobilenetv2', lr: 1e-3, freezeUntil: 3, backboneLrScale: 0.1, weightDecay: 0 });
    for (const layer of model.layers.filter((l) => l.getClassName() !== 'InputLayer')) {
      const block = mobilenetV2BlockOf(layer.name);
      if (block !== null && block < 3) assert.equal(layer.trainable, false, `${layer.name} frozen`);
      else assert.equal(layer.trainable, true, `${layer.name} trains`);
    }
    assert.deepEqual(
      groups.head.vars.map((v) => v.name.replace(/_\d+$/, '')),
      ['classifier/kernel', 'classifier/bias'],
    );
    assert.ok(groups.backbone!.vars.length > 50 && groups.backbone!.vars.every((v) => !/^(stem_conv|block0[0-2]_)/.test(v.name)));
    groups.head.optimizer.dispose();
    groups.backbone!.optimizer.dispose();
    model.dispose();
  });

  test('head warm-up, frozen blocks, backbone optimizer in the checkpoint, exact resume', async () => {
    const pretrained = await layerWeights(join(backboneDir, 'model.json'));
    const tensorsBefore = tf.memory().numTensors;

    // Killed after the head epoch: the whole backbone still has the pretrained weights.
    const runB = join(root, 'resumed');
    const first = await train(config(runB), { ...quiet, stopAfterEpochs: 1 });
    assert.equal(first.completed, false);
    const afterHead = await layerWeights(join(runB, 'best/model.json'));
    for (const [name, weights] of afterHead) {
      if (mobilenetV2BlockOf(name) !== null && weights.length)
        assert.ok(same(weights, pretrained.get(name)!), `${name} untouched by the head epoch`);
    }
    assert.ok(!same(afterHead.get('classifier')!, pretrained.get('classifier')!), 'the head trained');
    assert.ok((await stat(join(runB, 'checkpoint/optimizer-backbone.bin'))).size > 0);
    const saved = JSON.parse(await readFile(join(runB, 'config.json'), 'utf8')) as TrainConfig;
    assert.equal(saved.backboneSha256, 'ab'.repeat(32), 'config.json records which backbone');
    await train(config(runB), { ...quiet, resume: true });

    const runA = join(root, 'straight');
    const straight = await train(config(runA), quiet);
    assert.equal(tf.memory().numTensors, tensorsBefore, 'train() leaves no tensors behind');
    assert.equal(straight.history.length, 3);

    // Epoch 3 is the last; compare the last checkpoints' models (best/ depends on validation ties).
    const a = await checkpointLayerWeights(runA);
    const b = await checkpointLayerWeights(runB);
    // Equal up to float32 noise from Adam's restored bias-correction powers (see the loss check below).
    for (const [name, weights] of a) assert.ok(close(weights, b.get(name)!), `${name}: resumed run equals the uninterrupted one`);
    const historyA = JSON.parse(await readFile(join(runA, 'history.json'), 'utf8'));
    const historyB = JSON.parse(await readFile(join(runB, 'history.json'), 'utf8'));
    // Adam's restored bias-correction powers differ from the multiplied ones in the last float32 bit,
    // so losses agree to float32 noise (as in train-e2e's resume test), not bit for bit.
    historyA.forEach((h: { loss: number }, i: number) => assert.ok(Math.abs(h.loss - historyB[i].loss) < 1e-5, `epoch ${i + 1} loss`));

    for (const [name, weights] of a) {
      const block = mobilenetV2BlockOf(name);
      if (block === null || !weights.length) continue;
      if (block < 3) assert.ok(same(weights, pretrained.get(name)!), `${name} frozen by --freeze-until 3`);
    }
    assert.ok(!same(a.get('block10_project')!, pretrained.get('block10_project')!), 'later blocks fine-tuned');
  });

  test('a resumed run refuses another backbone file', async () => {
    const run = join(root, 'other-backbone');
    await train(config(run), { ...quiet, stopAfterEpochs: 1 });
    const info = JSON.parse(await readFile(join(backboneDir, BACKBONE_INFO), 'utf8')) as BackboneInfo;
    await writeFile(join(backboneDir, BACKBONE_INFO), JSON.stringify({ ...info, sha256: 'cd'.repeat(32) }));
    try {
      const savedConfig = JSON.parse(await readFile(join(run, 'config.json'), 'utf8')) as TrainConfig;
      await assert.rejects(
        train({ ...config(run), backboneSha256: savedConfig.backboneSha256 }, { ...quiet, resume: true }),
        /is not the backbone this run started from/,
      );
    } finally {
      await writeFile(join(backboneDir, BACKBONE_INFO), JSON.stringify(info));
    }
  });

  test('transfer-learning flags are refused for architectures without a backbone', async () => {
    await assert.rejects(train({ ...config(join(root, 'x')), arch: 'compact' }, quiet), /apply to --arch mobilenetv2, not compact/);
  });
});
