// Kernels receive TensorInfos; kernels written with tf ops need Tensors.
import { tf } from '../../../core/tf.ts';

interface RefCountingBackend {
  incRef(dataId: object): void;
}

/**
 * The named kernel inputs as Tensors. Ops hand kernels their Tensor objects, which are used as they
 * are. A bare TensorInfo gets a wrapper Tensor that holds its own backend reference (the engine's
 * makeTensorFromTensorInfo does not take one, so disposing a bare wrapper would free the caller's data);
 * wrappers are tracked by the enclosing tf.tidy like any other tensor.
 */
export function inputTensors(inputs: tf.NamedTensorInfoMap, names: readonly string[], backend: unknown, kernelName: string): tf.Tensor[] {
  return names.map((name) => {
    const info = inputs[name];
    if (info == null) throw new Error(`${kernelName}: input '${name}' is missing.`);
    if (info instanceof tf.Tensor) return info;
    (backend as RefCountingBackend).incRef(info.dataId);
    return tf.engine().makeTensorFromTensorInfo(info);
  });
}
