// One training-mode forward and backward pass of a model, with what the native fast-path tests compare
// between the stock kernels and the fast ones: the loss, the output, every trainable weight's gradient, the
// moving statistics and the kernels that ran.
import { tf } from '../../../core/tf.ts';

export interface StepResult {
  loss: number;
  output: Float32Array;
  grads: Map<string, Float32Array>;
  moving: Map<string, Float32Array>;
  kernels: Set<string>;
}

/** One training-mode forward + backward (no optimizer), leaving the weights as they were. */
export async function trainingStep(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor): Promise<StepResult> {
  const snapshot = model.getWeights().map((w) => w.clone());
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  let output: Float32Array<ArrayBufferLike> = new Float32Array();
  let result: { value: tf.Scalar; grads: tf.NamedTensorMap } | null = null;
  const profile = await tf.profile(() => {
    result = tf.variableGrads(() => {
      const p = model.apply(x, { training: true }) as tf.Tensor;
      output = p.dataSync() as Float32Array;
      return tf.neg(tf.mean(tf.sum(tf.mul(y, tf.log(tf.add(p, 1e-7))), -1))) as tf.Scalar;
    }, vars);
    return [];
  });
  const { value, grads } = result!;
  const step: StepResult = {
    loss: value.dataSync()[0],
    output,
    grads: new Map(model.trainableWeights.map((w, i) => [w.name, grads[vars[i].name].dataSync() as Float32Array])),
    moving: new Map(model.weights.filter((w) => w.name.includes('moving_')).map((w) => [w.name, w.read().dataSync() as Float32Array])),
    kernels: new Set(profile.kernelNames),
  };
  tf.dispose([value, ...Object.values(grads)]);
  model.setWeights(snapshot);
  tf.dispose(snapshot);
  return step;
}
