// tfjs-node with the stock kernels (no fast paths: the micro-benchmarks call TF ops themselves), and the
// op-attribute helpers its binding takes (tf-ops.ts' OpAttr), shared by the per-op micro-benchmarks.
import { loadTfjsNode, initBackend } from '../../trainer/backends/select.ts';
import { nativeBackend, type OpAttr } from '../../trainer/backends/native/tf-ops.ts';

export async function nativeOps() {
  await loadTfjsNode();
  await initBackend('tensorflow', { nativeFastPaths: false, log: null });
  const be = nativeBackend();
  const B = be.binding as unknown as Record<string, number>;
  return {
    be,
    /** The binding's enum values (TF_ATTR_*, TF_FLOAT, ...). */
    B,
    T: (name: string): OpAttr => ({ name, type: B.TF_ATTR_TYPE, value: B.TF_FLOAT }),
    ints: (name: string, v: number[]): OpAttr => ({ name, type: B.TF_ATTR_INT, value: v }),
    int: (name: string, v: number): OpAttr => ({ name, type: B.TF_ATTR_INT, value: v }),
    str: (name: string, v: string | string[]): OpAttr => ({ name, type: B.TF_ATTR_STRING, value: v }),
  };
}
