// tfjs-layers' Dropout in training with the random numbers drawn by TF instead of JS.
//
// tf.dropout computes x * floor(u + keep) / keep with u = tf.randomUniform(shape), and tfjs fills u
// element by element in JS: ~37 ms per seed-model batch of 32 at 64 px (1.8 M values), more than all
// of its convolutions' forward passes. Here u comes from TF's StatelessRandomUniform; the rest of the
// formula (and so the gradient, dy * multiplier) is the same ops as tf.dropout.
//
// Seeds keep tfjs' behaviour: tfjs reseeds its generator on every call, so a Dropout layer given a
// `seed` drops the SAME units on every call (a fixed mask for the whole training run), and one without
// a seed draws a fresh mask each call. Here a seeded layer also gets one fixed mask (different values
// from tfjs' generator), and an unseeded one a fresh mask per call.
import { tf } from '../../../core/tf.ts';
import { statelessRandomUniform, type NativeBackend } from './tf-ops.ts';

/** The fields of tfjs-layers' Dropout layer used here (the class is not exported). */
export interface DropoutLayerLike {
  rate: number;
  noiseShape?: number[] | null;
  seed?: number | null;
  invokeCallHook(inputs: tf.Tensor | tf.Tensor[], kwargs: unknown): void;
}

export function canUseNativeDropout(layer: DropoutLayerLike, input: tf.Tensor): boolean {
  return layer.rate > 0 && layer.rate < 1 && layer.noiseShape == null && input.dtype === 'float32';
}

const INT32_SPAN = 2 ** 32;
const toInt32 = (n: number): number => (((Math.floor(n) % INT32_SPAN) + INT32_SPAN) % INT32_SPAN) | 0;

function seedPair(seed: number | null | undefined): [number, number] {
  if (seed != null) return [toInt32(seed), 0x5eed];
  return [toInt32(Math.random() * INT32_SPAN), toInt32(Math.random() * INT32_SPAN)];
}

/** The training-mode output of `layer` (caller checked canUseNativeDropout). */
export function nativeDropoutTraining(backend: NativeBackend, layer: DropoutLayerLike, input: tf.Tensor, kwargs: unknown): tf.Tensor {
  return tf.tidy(() => {
    layer.invokeCallHook(input, kwargs);
    const keep = 1 - layer.rate;
    const u = statelessRandomUniform(backend, input.shape, seedPair(layer.seed));
    const multiplier = tf.div(tf.floor(tf.add(u, keep)), keep);
    return tf.mul(input, multiplier);
  });
}
