// tf.train.adam's update through TF's fused ResourceApplyAdam on tfjs-node.
//
// Stock tfjs runs Adam as 14 elementwise ops per variable, each writing a fresh buffer; for the seed
// model's 8192x512 Dense kernel alone that is ~15 ms of a training step here. ResourceApplyAdam does
// the update in one multithreaded pass, but only on TF resource variables: so each step the tfjs
// values (weights, and the optimizer's own m and v variables, which stay the source of truth for
// getWeights/setWeights/dispose) are assigned to resource variables, updated in place (TF copies a
// buffer that is still shared, which is one pass each), and read back. Same results as tfjs'
// formula: with eps' = eps * sqrt(1 - beta2^t), TF's
//   var -= lr * sqrt(1 - beta2^t) / (1 - beta1^t) * m / (sqrt(v) + eps')
// equals tfjs' var -= lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps).
import { tf } from '../../../core/tf.ts';
import type { NativeBackend, OpAttr } from './tf-ops.ts';

/** The AdamOptimizer fields used here (public in JS, protected/private in its typings). */
interface AdamInternals {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: Array<{ originalName: string; variable: tf.Variable } | undefined>;
  accumulatedSecondMoment: Array<{ originalName: string; variable: tf.Variable } | undefined>;
  incrementIterations(): void;
}

/** What Optimizer.applyGradients takes: a name -> gradient map or a list of {name, tensor}. */
export type VariableGradients = Parameters<tf.Optimizer['applyGradients']>[0];

/** Three TF resource variables (weight, m, v) per tfjs variable, made on first use. */
interface Slots {
  name: string;
  shape: number[];
  value: tf.Tensor;
  m: tf.Tensor;
  v: tf.Tensor;
}

let nextResourceId = 0;

function dtypeAttr(backend: NativeBackend, name: string): OpAttr {
  return { name, type: backend.binding.TF_ATTR_TYPE, value: backend.binding.TF_FLOAT };
}

function makeResourceVariable(backend: NativeBackend, shape: readonly number[]): tf.Tensor {
  const string = (name: string, value: string): OpAttr => ({ name, type: backend.binding.TF_ATTR_STRING, value });
  return backend.executeSingleOutput(
    'VarHandleOp',
    [
      string('container', ''),
      string('shared_name', `dermlens_native_adam_${nextResourceId++}`),
      dtypeAttr(backend, 'dtype'),
      { name: 'shape', type: (backend.binding as unknown as { TF_ATTR_SHAPE: number }).TF_ATTR_SHAPE, value: [...shape] },
    ],
    [],
  );
}

function assignResource(backend: NativeBackend, handle: tf.Tensor, value: tf.Tensor): void {
  backend.executeMultipleOutputs('AssignVariableOp', [dtypeAttr(backend, 'dtype')], [handle, value], 0);
}

function readResource(backend: NativeBackend, handle: tf.Tensor): tf.Tensor {
  return backend.executeSingleOutput('ReadVariableOp', [dtypeAttr(backend, 'dtype')], [handle]);
}

function destroyResource(backend: NativeBackend, handle: tf.Tensor): void {
  backend.executeMultipleOutputs(
    'DestroyResourceOp',
    [{ name: 'ignore_lookup_error', type: backend.binding.TF_ATTR_BOOL, value: true }],
    [handle],
    0,
  );
  handle.dispose();
}

const slotsByOptimizer = new WeakMap<object, Map<number, Slots>>();

/**
 * The Adam step for `optimizer` (a tf.AdamOptimizer) on tfjs-node. Mirrors AdamOptimizer.applyGradients
 * step for step (lazily created m/v variables named "<var>/m", "<var>/v", skipped null gradients,
 * accBeta updates, iteration count).
 */
export function nativeAdamApplyGradients(backend: NativeBackend, optimizer: tf.AdamOptimizer, variableGradients: VariableGradients): void {
  const adam = optimizer as unknown as AdamInternals;
  const varNames = Array.isArray(variableGradients) ? variableGradients.map((v) => v.name) : Object.keys(variableGradients);
  let slots = slotsByOptimizer.get(optimizer);
  if (slots == null) slotsByOptimizer.set(optimizer, (slots = new Map()));
  const perVariable = slots;
  tf.tidy(() => {
    const beta1Power = adam.accBeta1.dataSync()[0];
    const beta2Power = adam.accBeta2.dataSync()[0];
    const scalars = [
      tf.scalar(beta1Power),
      tf.scalar(beta2Power),
      tf.scalar(adam.learningRate),
      tf.scalar(adam.beta1),
      tf.scalar(adam.beta2),
      tf.scalar(adam.epsilon * Math.sqrt(1 - beta2Power)),
    ];
    const attrs: OpAttr[] = [
      dtypeAttr(backend, 'T'),
      { name: 'use_locking', type: backend.binding.TF_ATTR_BOOL, value: false },
      { name: 'use_nesterov', type: backend.binding.TF_ATTR_BOOL, value: false },
    ];
    varNames.forEach((name, i) => {
      const value = tf.engine().registeredVariables[name];
      if (adam.accumulatedFirstMoment[i] == null) {
        adam.accumulatedFirstMoment[i] = { originalName: `${name}/m`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
      }
      if (adam.accumulatedSecondMoment[i] == null) {
        adam.accumulatedSecondMoment[i] = { originalName: `${name}/v`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
      }
      const gradient = Array.isArray(variableGradients) ? variableGradients[i].tensor : variableGradients[name];
      if (gradient == null) return;
      if (value.dtype !== 'float32' || gradient.dtype !== 'float32') {
        throw new Error(`Native Adam: variable ${name} is ${value.dtype}, gradient ${gradient.dtype}; float32 expected.`);
      }
      const m = adam.accumulatedFirstMoment[i]!.variable;
      const v = adam.accumulatedSecondMoment[i]!.variable;
      let slot = perVariable.get(i);
      if (slot == null || slot.name !== name || !tf.util.arraysEqual(slot.shape, value.shape)) {
        if (slot != null) [slot.value, slot.m, slot.v].forEach((handle) => destroyResource(backend, handle));
        slot = {
          name,
          shape: [...value.shape],
          value: tf.keep(makeResourceVariable(backend, value.shape)),
          m: tf.keep(makeResourceVariable(backend, value.shape)),
          v: tf.keep(makeResourceVariable(backend, value.shape)),
        };
        perVariable.set(i, slot);
      }
      assignResource(backend, slot.value, value);
      assignResource(backend, slot.m, m);
      assignResource(backend, slot.v, v);
      backend.executeMultipleOutputs('ResourceApplyAdam', attrs, [slot.value, slot.m, slot.v, ...scalars, gradient], 0);
      m.assign(readResource(backend, slot.m));
      v.assign(readResource(backend, slot.v));
      value.assign(readResource(backend, slot.value));
    });
    adam.accBeta1.assign(tf.mul(adam.accBeta1, adam.beta1));
    adam.accBeta2.assign(tf.mul(adam.accBeta2, adam.beta2));
  });
  adam.incrementIterations();
}

/** Frees the TF resource variables kept for `optimizer` (called from its dispose()). */
export function disposeNativeAdamSlots(backend: NativeBackend | null, optimizer: object): void {
  const slots = slotsByOptimizer.get(optimizer);
  if (slots == null) return;
  slotsByOptimizer.delete(optimizer);
  for (const slot of slots.values()) {
    for (const handle of [slot.value, slot.m, slot.v]) {
      if (backend != null) destroyResource(backend, handle);
      else handle.dispose();
    }
  }
}
