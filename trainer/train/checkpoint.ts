// Training checkpoints: everything needed to continue a killed run exactly where it stopped.
//
//   checkpoint/state.json       epoch count, history, best score, early-stopping counter, config
//   checkpoint/model.bin|json   every model weight (trainable and BatchNorm moving statistics), in model.getWeights() order
//   checkpoint/optimizer.bin|json   optimizer.getWeights(): Adam's step count, then first and second moments
//   checkpoint/ema.bin|json     the weight average's model weights, when the run keeps one (--ema)
//   checkpoint/optimizer-backbone.bin|json   the backbone's optimizer, when a pretrained backbone trains
//                               at its own learning rate (--arch mobilenetv2)
//
// Weights are matched by position, not name: tfjs gives layers process-unique names, so a model built
// twice in one process has different weight names. A checkpoint is written to a temporary folder and
// swapped in with renames, so a crash at any point leaves the previous complete checkpoint readable.
//
// There is no separate RNG state to store: the trainer derives each epoch's shuffle, augmentation and
// dropout streams from (seed, epoch, step), so the epoch count is the RNG state.
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tf } from '../../core/tf.ts';
import { CHECKPOINT_DIR, writeCheckpointState, type CheckpointProgress } from '../run/checkpoint-state.ts';
import { exists } from '../run/json.ts';

export { findCheckpoint, readCheckpointState, type CheckpointState } from '../run/checkpoint-state.ts';

interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
}

interface WeightsFile {
  specs: tf.io.WeightsManifestEntry[];
}

async function writeTensors(dir: string, name: string, tensors: NamedTensor[]): Promise<void> {
  const { data, specs } = await tf.io.encodeWeights(tensors);
  await writeFile(join(dir, `${name}.bin`), new Uint8Array(new tf.io.CompositeArrayBuffer(data).slice()));
  await writeFile(join(dir, `${name}.json`), JSON.stringify({ specs } satisfies WeightsFile));
}

/** Reads tensors back in the order they were written; the caller disposes them. */
async function readTensors(dir: string, name: string): Promise<NamedTensor[]> {
  const { specs } = JSON.parse(await readFile(join(dir, `${name}.json`), 'utf8')) as WeightsFile;
  const bytes = await readFile(join(dir, `${name}.bin`));
  const map = tf.io.decodeWeights(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer, specs);
  return specs.map((s) => ({ name: s.name, tensor: map[s.name] }));
}

/** Writes the checkpoint atomically under runDir/checkpoint; `average` is the EMA copy of the model, if any. */
export async function saveCheckpoint(
  runDir: string,
  model: tf.LayersModel,
  optimizer: tf.Optimizer,
  state: CheckpointProgress,
  average?: tf.LayersModel,
  backboneOptimizer?: tf.Optimizer,
): Promise<void> {
  const final = join(runDir, CHECKPOINT_DIR);
  const temp = `${final}.tmp`;
  const old = `${final}.old`;
  await rm(temp, { recursive: true, force: true });
  await mkdir(temp, { recursive: true });
  // Index names keep the files independent of tfjs' per-process layer names.
  const indexed = (m: tf.LayersModel) => m.getWeights().map((tensor, i) => ({ name: `w${i}`, tensor }));
  await writeTensors(temp, 'model', indexed(model));
  if (average) await writeTensors(temp, 'ema', indexed(average));
  for (const [name, opt] of [
    ['optimizer', optimizer],
    ['optimizer-backbone', backboneOptimizer],
  ] as const) {
    if (!opt) continue;
    const optimizerWeights = await opt.getWeights();
    try {
      await writeTensors(temp, name, optimizerWeights);
    } finally {
      // getWeights() makes a new scalar for the step count (the moments are the live variables).
      optimizerWeights[0]?.tensor.dispose();
    }
  }
  await writeCheckpointState(temp, state);
  if (await exists(final)) {
    await rm(old, { recursive: true, force: true });
    await rename(final, old);
  }
  await rename(temp, final);
  await rm(old, { recursive: true, force: true });
}

/** Loads one model's weights ('model', or 'ema' for the weight average) from a checkpoint into `model`. */
export async function restoreModelWeights(dir: string, name: 'model' | 'ema', model: tf.LayersModel): Promise<void> {
  if (!(await exists(join(dir, `${name}.json`)))) throw new Error(`checkpoint ${dir} has no ${name} weights (${name}.json)`);
  const weights = await readTensors(dir, name);
  const expected = model.weights;
  if (weights.length !== expected.length) {
    tf.dispose(weights.map((w) => w.tensor));
    throw new Error(
      `checkpoint ${dir} has ${weights.length} ${name} weights but the model has ${expected.length} (different architecture?)`,
    );
  }
  weights.forEach((w, i) => {
    if (w.tensor.shape.join() !== expected[i].shape.join()) {
      tf.dispose(weights.map((x) => x.tensor));
      throw new Error(`checkpoint ${dir}: ${name} weight ${i} has shape [${w.tensor.shape}] but the model expects [${expected[i].shape}]`);
    }
  });
  model.setWeights(weights.map((w) => w.tensor));
  tf.dispose(weights.map((w) => w.tensor));
}

/** Loads model weights, optimizer state and (when given a model for it) the weight average from a checkpoint. */
export async function restoreCheckpoint(
  dir: string,
  model: tf.LayersModel,
  optimizer: tf.Optimizer,
  average?: tf.LayersModel,
  backboneOptimizer?: tf.Optimizer,
): Promise<void> {
  await restoreModelWeights(dir, 'model', model);
  if (average) await restoreModelWeights(dir, 'ema', average);
  for (const [name, opt] of [
    ['optimizer', optimizer],
    ['optimizer-backbone', backboneOptimizer],
  ] as const) {
    if (!opt) continue;
    if (!(await exists(join(dir, `${name}.json`)))) throw new Error(`checkpoint ${dir} has no ${name} state (${name}.json)`);
    const optimizerWeights = await readTensors(dir, name);
    // setWeights turns each tensor into a variable that shares its data; the originals can go.
    await opt.setWeights(optimizerWeights);
    tf.dispose(optimizerWeights.map((w) => w.tensor));
  }
}
