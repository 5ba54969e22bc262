// BatchMatMul for the wasm backend without the slow path. tfjs-wasm sends any matmul with
// transposeA/transposeB (or a batch dimension) to a scalar C++ triple loop, and only the plain
// a[M,K] x b[K,N] case to XNNPACK. Backprop of a Dense layer needs x^T*dy and dy*W^T, which hit the
// slow path at 100s of ms for the seed model's 8192x512 layer. Here a transposed product is rewritten
// as a plain one, transposing whichever operands are small:
//   op(A)*op(B) = A'*B'             (transpose A if tA, B if tB), or
//   op(A)*op(B) = (op(B)^T * op(A)^T)^T  (transpose A if !tA, B if !tB, and the product).
import { tf } from '../../../core/tf.ts';
import { inputTensors } from './kernel-inputs.ts';

type Matrix = { rows: number; cols: number };

/** Elements each formulation has to transpose; the cheaper one is used. */
export function chooseFormulation(a: Matrix, b: Matrix, transposeA: boolean, transposeB: boolean): 'direct' | 'swapped' {
  const sizeA = a.rows * a.cols;
  const sizeB = b.rows * b.cols;
  const outRows = transposeA ? a.cols : a.rows;
  const outCols = transposeB ? b.rows : b.cols;
  const direct = (transposeA ? sizeA : 0) + (transposeB ? sizeB : 0);
  const swapped = (transposeA ? 0 : sizeA) + (transposeB ? 0 : sizeB) + outRows * outCols;
  return direct <= swapped ? 'direct' : 'swapped';
}

/** op(a) * op(b) for 2D a and b using only untransposed matmuls (the XNNPACK path). */
export function matMulWithoutTransposeFlags(a: tf.Tensor2D, b: tf.Tensor2D, transposeA: boolean, transposeB: boolean): tf.Tensor2D {
  return tf.tidy(() => {
    const formulation = chooseFormulation(
      { rows: a.shape[0], cols: a.shape[1] },
      { rows: b.shape[0], cols: b.shape[1] },
      transposeA,
      transposeB,
    );
    if (formulation === 'direct') {
      return tf.matMul(transposeA ? tf.transpose(a) : a, transposeB ? tf.transpose(b) : b) as tf.Tensor2D;
    }
    const bT = transposeB ? b : tf.transpose(b);
    const aT = transposeA ? a : tf.transpose(a);
    return tf.transpose(tf.matMul(bT, aT)) as tf.Tensor2D;
  });
}

/**
 * Kernel: rank-2 (or batch-1) float32 products with a transpose flag are rewritten; everything else
 * (plain products, real batches) goes to the stock kernel.
 */
export function makeBatchMatMulKernel(stock: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { a, b } = args.inputs;
    const { transposeA, transposeB } = args.attrs as unknown as tf.BatchMatMulAttrs;
    if (a == null || b == null) throw new Error('BatchMatMul: inputs a and b are required.');
    const batchA = tf.util.sizeFromShape(a.shape.slice(0, -2));
    const batchB = tf.util.sizeFromShape(b.shape.slice(0, -2));
    if (!(transposeA || transposeB) || batchA !== 1 || batchB !== 1 || a.dtype !== 'float32' || b.dtype !== 'float32') {
      return stock(args);
    }
    return tf.tidy(() => {
      const [aTensor, bTensor] = inputTensors(args.inputs, ['a', 'b'], args.backend, 'BatchMatMul');
      const a2 = tf.reshape(aTensor, a.shape.slice(-2) as [number, number]) as tf.Tensor2D;
      const b2 = tf.reshape(bTensor, b.shape.slice(-2) as [number, number]) as tf.Tensor2D;
      const product = matMulWithoutTransposeFlags(a2, b2, transposeA, transposeB);
      const outer = tf.backend_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
      return tf.reshape(product, [...outer, ...product.shape]);
    });
  };
}
