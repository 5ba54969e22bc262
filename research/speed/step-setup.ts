// What the research/speed/ measurements time: the trainer's step with bench:train's configuration
// (strong augmentation, label smoothing 0.1; for mobilenetv2 the release recipe's backbone learning-rate
// scale and weight decay) on one fixed random batch of 32, so every script measures the same step.
import { tf } from '../../core/tf.ts';
import { DEFAULT_TRAIN_CONFIG, type TrainConfig } from '../../trainer/run/config.ts';

export function benchStepConfig(arch: string, size: number): TrainConfig {
  return {
    ...DEFAULT_TRAIN_CONFIG,
    dataDir: '',
    outDir: '',
    arch: arch as TrainConfig['arch'],
    size,
    batch: 32,
    seed: 1,
    augment: 'strong',
    labelSmoothing: 0.1,
    freezeUntil: 0,
    ...(arch === 'mobilenetv2' ? { backboneLrScale: 0.1, weightDecay: 0.05 } : {}),
  };
}

/** 32 random images in [0, 1) and one-hot labels of 7 classes, seeded. */
export function randomBatch(size: number): { x: tf.Tensor4D; y: tf.Tensor2D } {
  const x = tf.randomUniform([32, size, size, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
  const y = tf.tidy(() => tf.oneHot(tf.randomUniform([32], 0, 7, 'int32', 2), 7)) as tf.Tensor2D;
  return { x, y };
}
