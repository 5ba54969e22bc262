// One training step and what it needs: the epoch's batch order, dropout reseeding, the parameter groups
// (head, backbone) with their optimizers, and trainOneBatch, which `dermlens train` and `npm run bench:train`
// both call, so the benchmark times the trainer's own step.
import { tf } from '../../core/tf.ts';
import { NUM_CLASSES } from '../../core/labels.ts';
import { buildModel } from '../../core/models.ts';
import { copyMobileNetV2Backbone, mobilenetV2BlockOf } from '../../core/mobilenet-v2.ts';
import { mixSeed, shuffleInPlace, STREAM } from '../data/rng.ts';
import type { LoadedBackbone } from '../model/backbone.ts';
import type { TrainConfig } from '../run/config.ts';
import { ORIGINAL_AUGMENT, STRONG_AUGMENT, augmentBatch, type AugmentOptions } from './augment.ts';
import { copyWeights, emaDecayAt, updateAverage } from './ema.ts';
import { weightedCrossEntropy, type LossOptions } from './loss.ts';

/** Training-set order for one epoch: a shuffle, or with balanced sampling, n draws of (uniform class, uniform image of it). */
export function epochOrder(
  trainIdx: readonly number[],
  labelOf: (index: number) => number,
  balanceSampling: boolean,
  rng: () => number,
): number[] {
  if (!balanceSampling) return shuffleInPlace([...trainIdx], rng);
  const byClass: number[][] = Array.from({ length: NUM_CLASSES }, () => []);
  for (const i of trainIdx) byClass[labelOf(i)].push(i);
  const present = byClass.filter((c) => c.length > 0);
  return trainIdx.map(() => {
    const members = present[Math.floor(rng() * present.length)];
    return members[Math.floor(rng() * members.length)];
  });
}

/**
 * tfjs' Dropout with a fixed seed draws the same mask on every call (tf.dropout re-seeds its generator
 * each time), and without one it uses Math.random, which cannot be replayed on resume. So each step gets
 * fresh seeds derived from (run seed, step): masks vary per step and a resumed run replays them exactly.
 */
export function reseedDropout(model: tf.LayersModel, seed: number, step: number): void {
  model.layers.forEach((layer, i) => {
    if (layer.getClassName() === 'Dropout') (layer as unknown as { seed?: number }).seed = mixSeed(seed, STREAM.dropout, step, i);
  });
}

/**
 * One optimisation step: forward pass in training mode (batch statistics; BatchNormalization updates
 * its moving mean/variance inside call(), exactly as under model.fit; Dropout active), loss, gradients
 * of varList, Adam update. Returns the batch loss (the caller disposes it).
 */
export function trainStep(
  model: tf.LayersModel,
  optimizer: tf.Optimizer,
  varList: tf.Variable[],
  x: tf.Tensor4D,
  y: tf.Tensor2D,
  loss: LossOptions,
): tf.Scalar {
  return trainStepGroups(model, [{ optimizer, vars: varList, weightDecay: 0 }], x, y, loss);
}

/**
 * Variables that share one optimizer and learning rate: a pretrained backbone trains at a fraction of
 * the new head's rate, and during the head warm-up not at all (its group is left out of the step, so
 * no gradient is computed for it). `weightDecay` is decoupled (AdamW): kernels shrink by lr * decay.
 */
export interface ParamGroup {
  optimizer: tf.Optimizer;
  vars: tf.Variable[];
  weightDecay: number;
}

/** trainStep over several parameter groups: one backward pass, then each group's own update. */
export function trainStepGroups(model: tf.LayersModel, groups: ParamGroup[], x: tf.Tensor4D, y: tf.Tensor2D, loss: LossOptions): tf.Scalar {
  const active = groups.filter((g) => g.vars.length > 0);
  const { value, grads } = tf.variableGrads(
    () => weightedCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor2D, loss),
    active.flatMap((g) => g.vars),
  );
  try {
    for (const group of active) {
      // The array form keeps the optimizer's moment slots matched to the variables by position.
      group.optimizer.applyGradients(group.vars.map((v) => ({ name: v.name, tensor: grads[v.name] })));
      if (group.weightDecay > 0) {
        const shrink = 1 - (group.optimizer as unknown as { learningRate: number }).learningRate * group.weightDecay;
        tf.tidy(() => group.vars.filter(isKernel).forEach((v) => v.assign(tf.mul(v, shrink))));
      }
    }
  } finally {
    tf.dispose(grads);
  }
  return value;
}

/** Conv, depthwise and dense kernels take weight decay; biases do not (as is usual). */
const isKernel = (v: tf.Variable) => /kernel(_\d+)?$/.test(v.name);

/**
 * The parameter groups of a run. Every architecture has the head group (for seed and compact: every
 * trainable weight, at --lr). MobileNetV2 adds the backbone group at --lr * --backbone-lr-scale; the stem
 * and blocks below --freeze-until are set untrainable and belong to neither. Adam matches its moment slots
 * to variables by position, so each group's variable list is explicit and stable across a run.
 */
export function paramGroups(
  model: tf.LayersModel,
  config: Pick<TrainConfig, 'arch' | 'lr' | 'freezeUntil' | 'backboneLrScale' | 'weightDecay'>,
): { head: ParamGroup; backbone?: ParamGroup } {
  const group = (vars: tf.Variable[], lr: number): ParamGroup => ({ optimizer: tf.train.adam(lr), vars, weightDecay: config.weightDecay });
  if (config.arch !== 'mobilenetv2')
    return {
      head: group(
        model.trainableWeights.map((w) => w.read() as tf.Variable),
        config.lr,
      ),
    };
  for (const layer of model.layers) {
    const block = mobilenetV2BlockOf(layer.name);
    if (block !== null && config.freezeUntil > 0 && block < config.freezeUntil) layer.trainable = false;
  }
  const head: tf.Variable[] = [];
  const backbone: tf.Variable[] = [];
  for (const layer of model.layers) {
    if (!layer.trainable) continue;
    const vars = layer.trainableWeights.map((w) => w.read() as tf.Variable);
    (mobilenetV2BlockOf(layer.name) === null ? head : backbone).push(...vars);
  }
  return { head: group(head, config.lr), backbone: group(backbone, config.lr * config.backboneLrScale) };
}

/**
 * What one optimisation step needs, built once per run: the model (with the backbone's weights copied
 * in), the weight average, the parameter groups with their optimizers, the loss and augmentation
 * settings. `dermlens train` and `npm run bench:train` both step through trainOneBatch with it, so the
 * benchmark times the trainer's own step.
 */
export interface Stepper {
  model: tf.LayersModel;
  average?: tf.LayersModel;
  groups: { head: ParamGroup; backbone?: ParamGroup };
  config: Pick<TrainConfig, 'seed' | 'ema' | 'headEpochs' | 'backboneLrScale'>;
  loss: LossOptions;
  augment: AugmentOptions | null;
}

/** Builds a run's Stepper; `backbone` (its model stays the caller's to dispose) supplies pretrained weights. */
export function createStepper(
  config: TrainConfig,
  backbone: LoadedBackbone | null,
  classWeights: number[] | null,
  log: (line: string) => void = () => {},
): Stepper {
  const build = () =>
    buildModel(config.arch, {
      inputSize: config.size,
      seed: config.seed,
      ...(backbone ? { rescaling: backbone.info.rescaling } : {}),
      ...(config.backboneNorm ? { normalization: config.backboneNorm } : {}),
    });
  const model = build();
  if (backbone) {
    const copied = copyMobileNetV2Backbone(model, backbone.model, config.backbone);
    log(`backbone: ${copied} pretrained convolutions from ${backbone.info.sourceFile} (sha256 ${backbone.info.sha256.slice(0, 12)}...)`);
  }
  // With --ema, a second copy holds the weight average; it is what gets validated, kept as best and shipped.
  const average = config.ema > 0 ? build() : undefined;
  if (average) copyWeights(average, model);
  return {
    model,
    average,
    groups: paramGroups(model, config),
    config,
    loss: { labelSmoothing: config.labelSmoothing, classWeights },
    augment: augmentOptions(config),
  };
}

const setLearningRate = (opt: tf.Optimizer, lr: number) => {
  (opt as unknown as { learningRate: number }).learningRate = lr;
};

/**
 * One batch as the trainer trains it: augmentation, the learning rates at this step, the dropout seed,
 * forward and backward, each group's update, the weight average. Takes ownership of `raw` and `y`;
 * returns the batch loss.
 */
export async function trainOneBatch(
  s: Stepper,
  raw: tf.Tensor4D,
  y: tf.Tensor2D,
  at: { step: number; epoch: number; lr: number; augRng: () => number },
): Promise<number> {
  const x = s.augment ? augmentBatch(raw, at.augRng, s.augment) : raw;
  if (s.augment) raw.dispose();
  setLearningRate(s.groups.head.optimizer, at.lr);
  if (s.groups.backbone) setLearningRate(s.groups.backbone.optimizer, at.lr * s.config.backboneLrScale);
  reseedDropout(s.model, s.config.seed, at.step);
  // The first --head-epochs train the new head alone on the frozen pretrained features.
  const active = s.groups.backbone && at.epoch > s.config.headEpochs ? [s.groups.head, s.groups.backbone] : [s.groups.head];
  const loss = trainStepGroups(s.model, active, x, y, s.loss);
  if (s.average) updateAverage(s.average, s.model, emaDecayAt(s.config.ema, at.step));
  const value = (await loss.data())[0];
  tf.dispose([loss, x, y]);
  return value;
}

export function augmentOptions(config: Pick<TrainConfig, 'augment' | 'fieldOfView'>): AugmentOptions | null {
  const base = config.augment === 'original' ? ORIGINAL_AUGMENT : config.augment === 'strong' ? STRONG_AUGMENT : null;
  return base && config.fieldOfView ? { ...base, fieldOfView: config.fieldOfView } : base;
}
