/**
 * TFLite graph -> tfjs LayersModel, op by op, with every weight dequantized to float32. Covers what
 * a MobileNet-style classifier is made of (CONV_2D, DEPTHWISE_CONV_2D, ADD, AVERAGE_POOL_2D,
 * MAX_POOL_2D, MEAN over H and W, RESHAPE, SOFTMAX, RELU/RELU6 and the QUANTIZE/DEQUANTIZE ops that
 * only change an activation's integer encoding) and refuses anything else by name.
 *
 * The model takes what core/preprocess.ts produces (RGB in [0, 1]); a Rescaling layer first maps it to
 * the float values the quantized graph's input stood for, scale * (255 x - zeroPoint), so the rescaling
 * lives inside the model and preprocessing stays one definition.
 */
import { tf } from './tf.ts';
import {
  BuiltinOperator,
  TfliteFormatError,
  dequantize,
  operatorName,
  type TfliteModel,
  type TfliteOperator,
  type TfliteTensor,
} from './tflite-reader.ts';

export class UnsupportedTfliteError extends TfliteFormatError {
  override name = 'UnsupportedTfliteError';
}

/** How the model maps preprocess.ts' [0, 1] input to what the network was trained on: x * scale + offset. */
export interface InputRescaling {
  scale: number;
  offset: number;
}

export interface ConvertedTflite {
  model: tf.LayersModel;
  rescaling: InputRescaling;
  /** How many of each op the graph had, for the import summary. */
  opCounts: Record<string, number>;
  /** Constant tensors by their quantization: 'per-tensor' / 'per-channel' / 'float'. */
  weightQuantization: Record<string, number>;
}

const ACTIVATIONS: Record<number, 'linear' | 'relu' | 'relu6'> = { 0: 'linear', 1: 'relu', 3: 'relu6' };
const ACTIVATION_NAMES: Record<number, string> = { 2: 'RELU_N1_TO_1', 4: 'TANH', 5: 'SIGN_BIT', 6: 'SIGMOID?' };

/**
 * The float input the graph expects for a uint8/int8 pixel q is scale * (q - zeroPoint); preprocess
 * gives x = q / 255. A float-input graph carries no such parameters, so it is taken to want [-1, 1]
 * (the MobileNet convention) and the caller records that assumption.
 */
export function inputRescaling(input: TfliteTensor): InputRescaling {
  const q = input.quantization;
  if (!q) return { scale: 2, offset: -1 };
  // An int8 input stands for uint8 pixels shifted by 128 (the converter's int8 path).
  const shift = input.type === 9 ? 128 : 0;
  return { scale: 255 * q.scale[0], offset: -q.scale[0] * ((q.zeroPoint[0] ?? 0) + shift) };
}

/** Converts the graph; `source` names the file in every message. The caller disposes the model. */
export function tfliteToLayers(graph: TfliteModel, source = 'the model file'): ConvertedTflite {
  if (graph.inputs.length !== 1 || graph.outputs.length !== 1) {
    throw new UnsupportedTfliteError(
      `${source} has ${graph.inputs.length} inputs and ${graph.outputs.length} outputs; only one image in, one tensor out is supported.`,
    );
  }
  const inputTensor = graph.tensors[graph.inputs[0]];
  const [, h, w, c] = inputTensor.shape;
  if (inputTensor.shape.length !== 4 || c !== 3) {
    throw new UnsupportedTfliteError(`${source}: the input is [${inputTensor.shape}], not one RGB image [1, height, width, 3].`);
  }
  const unsupported = graph.operators.filter((op) => !SUPPORTED.has(op.opcode));
  if (unsupported.length) {
    const names = [...new Set(unsupported.map((op) => operatorName(op.opcode)))];
    throw new UnsupportedTfliteError(
      `${source} uses ${names.join(', ')} (operator ${unsupported[0].index} first), which DermLens cannot convert; ` +
        `supported: ${[...SUPPORTED].map(operatorName).join(', ')}.`,
    );
  }

  const rescaling = inputRescaling(inputTensor);
  const opCounts: Record<string, number> = {};
  const weightQuantization: Record<string, number> = {};
  const countWeight = (t: TfliteTensor) => {
    const kind = !t.quantization ? 'float' : t.quantization.scale.length > 1 ? 'per-channel' : 'per-tensor';
    weightQuantization[kind] = (weightQuantization[kind] ?? 0) + 1;
  };
  const input = tf.input({ shape: [h, w, 3], name: 'image' });
  const symbolic = new Map<number, tf.SymbolicTensor>();
  symbolic.set(
    graph.inputs[0],
    tf.layers.rescaling({ scale: rescaling.scale, offset: rescaling.offset, name: 'input_rescaling' }).apply(input) as tf.SymbolicTensor,
  );
  const pending: Array<{ layer: tf.layers.Layer; weights: () => tf.Tensor[] }> = [];

  const constant = (op: TfliteOperator, k: number, what: string): TfliteTensor => {
    const t = graph.tensors[op.inputs[k]];
    if (!t?.data)
      throw new UnsupportedTfliteError(
        `${source}: operator ${op.index} (${operatorName(op.opcode)}) has a computed ${what}; only constant ones are supported.`,
      );
    return t;
  };
  const activationOf = (op: TfliteOperator) => {
    const a = op.options.activation ?? 0;
    const name = ACTIVATIONS[a];
    if (!name)
      throw new UnsupportedTfliteError(
        `${source}: operator ${op.index} (${operatorName(op.opcode)}) has fused activation ${ACTIVATION_NAMES[a] ?? a}; supported: none, RELU, RELU6.`,
      );
    return name;
  };

  for (const op of graph.operators) {
    const kind = operatorName(op.opcode);
    opCounts[kind] = (opCounts[kind] ?? 0) + 1;
    const x = symbolic.get(op.inputs[0]);
    if (!x)
      throw new UnsupportedTfliteError(
        `${source}: operator ${op.index} (${kind}) reads tensor ${op.inputs[0]} before anything computes it (a constant or out-of-order input).`,
      );
    const name = `op${String(op.index).padStart(3, '0')}_${kind.toLowerCase()}`;
    const o = op.options;
    let layer: tf.layers.Layer | null = null;
    let applyTo: tf.SymbolicTensor | tf.SymbolicTensor[] = x;
    switch (op.opcode) {
      case BuiltinOperator.CONV_2D: {
        const filter = constant(op, 1, 'filter');
        const bias = op.inputs[2] !== undefined && op.inputs[2] >= 0 ? constant(op, 2, 'bias') : null;
        const [outC, kh, kw] = filter.shape;
        layer = tf.layers.conv2d({
          name,
          filters: outC,
          kernelSize: [kh, kw],
          strides: [o.strideH ?? 1, o.strideW ?? 1],
          padding: o.padding,
          dilationRate: [o.dilationH ?? 1, o.dilationW ?? 1],
          activation: activationOf(op),
          useBias: bias !== null,
        });
        [filter, bias].forEach((t) => t && countWeight(t));
        // TFLite stores [out, h, w, in]; tfjs wants [h, w, in, out].
        pending.push({
          layer,
          weights: () => [
            tf.tidy(() => tf.transpose(tf.tensor(dequantize(filter, source), filter.shape), [1, 2, 3, 0])),
            ...(bias ? [tf.tensor1d(dequantize(bias, source))] : []),
          ],
        });
        break;
      }
      case BuiltinOperator.DEPTHWISE_CONV_2D: {
        const filter = constant(op, 1, 'filter');
        const bias = op.inputs[2] !== undefined && op.inputs[2] >= 0 ? constant(op, 2, 'bias') : null;
        const [, kh, kw, channelsOut] = filter.shape;
        const multiplier = o.depthMultiplier || 1;
        const inChannels = channelsOut / multiplier;
        layer = tf.layers.depthwiseConv2d({
          name,
          kernelSize: [kh, kw],
          strides: [o.strideH ?? 1, o.strideW ?? 1],
          padding: o.padding,
          depthMultiplier: multiplier,
          dilationRate: [o.dilationH ?? 1, o.dilationW ?? 1],
          activation: activationOf(op),
          useBias: bias !== null,
        });
        [filter, bias].forEach((t) => t && countWeight(t));
        // [1, h, w, in * multiplier], output channel c * multiplier + m: the same bytes as tfjs' [h, w, in, multiplier].
        pending.push({
          layer,
          weights: () => [
            tf.tensor4d(dequantize(filter, source), [kh, kw, inChannels, multiplier]),
            ...(bias ? [tf.tensor1d(dequantize(bias, source))] : []),
          ],
        });
        break;
      }
      case BuiltinOperator.ADD: {
        const y = symbolic.get(op.inputs[1]);
        if (!y)
          throw new UnsupportedTfliteError(
            `${source}: operator ${op.index} (ADD) adds a constant; only the sum of two computed tensors is supported.`,
          );
        const sum = tf.layers.add({ name }).apply([x, y]) as tf.SymbolicTensor;
        const activation = activationOf(op);
        symbolic.set(
          op.outputs[0],
          activation === 'linear'
            ? sum
            : (tf.layers.activation({ activation, name: `${name}_${activation}` }).apply(sum) as tf.SymbolicTensor),
        );
        continue;
      }
      case BuiltinOperator.AVERAGE_POOL_2D:
      case BuiltinOperator.MAX_POOL_2D: {
        const args = {
          name,
          poolSize: [o.filterH ?? 1, o.filterW ?? 1] as [number, number],
          strides: [o.strideH ?? 1, o.strideW ?? 1] as [number, number],
          padding: o.padding,
        };
        const pooled = (op.opcode === BuiltinOperator.MAX_POOL_2D ? tf.layers.maxPooling2d(args) : tf.layers.averagePooling2d(args)).apply(
          x,
        ) as tf.SymbolicTensor;
        const activation = activationOf(op);
        symbolic.set(
          op.outputs[0],
          activation === 'linear'
            ? pooled
            : (tf.layers.activation({ activation, name: `${name}_${activation}` }).apply(pooled) as tf.SymbolicTensor),
        );
        continue;
      }
      case BuiltinOperator.MEAN: {
        const axes = Array.from(dequantize(constant(op, 1, 'axis list'), source))
          .map((a) => (a < 0 ? a + 4 : a))
          .sort();
        if (axes.join() !== '1,2' || x.shape.length !== 4) {
          throw new UnsupportedTfliteError(
            `${source}: operator ${op.index} (MEAN) averages over axes [${axes}]; only the spatial mean (axes 1 and 2) is supported.`,
          );
        }
        const pooled = tf.layers.globalAveragePooling2d({ name }).apply(x) as tf.SymbolicTensor;
        symbolic.set(
          op.outputs[0],
          o.keepDims
            ? (tf.layers
                .reshape({ targetShape: [1, 1, x.shape[3] as number], name: `${name}_keepdims` })
                .apply(pooled) as tf.SymbolicTensor)
            : pooled,
        );
        continue;
      }
      case BuiltinOperator.RESHAPE: {
        const out = graph.tensors[op.outputs[0]].shape;
        if (out[0] !== 1)
          throw new UnsupportedTfliteError(`${source}: operator ${op.index} (RESHAPE) changes the batch dimension to ${out[0]}.`);
        layer = tf.layers.reshape({ name, targetShape: out.slice(1) });
        break;
      }
      case BuiltinOperator.SOFTMAX:
        if ((o.beta ?? 1) !== 1)
          throw new UnsupportedTfliteError(`${source}: operator ${op.index} (SOFTMAX) has beta ${o.beta}; only 1 is supported.`);
        layer = tf.layers.softmax({ name });
        break;
      case BuiltinOperator.RELU:
      case BuiltinOperator.RELU6:
        layer = tf.layers.activation({ name, activation: op.opcode === BuiltinOperator.RELU ? 'relu' : 'relu6' });
        break;
      case BuiltinOperator.QUANTIZE:
      case BuiltinOperator.DEQUANTIZE:
        // Only the integer encoding of the activation changes; in float it is the identity.
        symbolic.set(op.outputs[0], x);
        continue;
    }
    symbolic.set(op.outputs[0], layer!.apply(applyTo) as tf.SymbolicTensor);
  }
  const output = symbolic.get(graph.outputs[0]);
  if (!output) throw new UnsupportedTfliteError(`${source}: no operator computes the graph output (tensor ${graph.outputs[0]}).`);
  const model = tf.model({ inputs: input, outputs: output, name: 'tflite' });
  try {
    for (const { layer, weights } of pending) {
      const values = weights();
      try {
        layer.setWeights(values);
      } finally {
        tf.dispose(values);
      }
    }
  } catch (error) {
    model.dispose();
    throw error;
  }
  return { model, rescaling, opCounts, weightQuantization };
}

const SUPPORTED = new Set<number>([
  BuiltinOperator.CONV_2D,
  BuiltinOperator.DEPTHWISE_CONV_2D,
  BuiltinOperator.ADD,
  BuiltinOperator.AVERAGE_POOL_2D,
  BuiltinOperator.MAX_POOL_2D,
  BuiltinOperator.MEAN,
  BuiltinOperator.RESHAPE,
  BuiltinOperator.SOFTMAX,
  BuiltinOperator.RELU,
  BuiltinOperator.RELU6,
  BuiltinOperator.QUANTIZE,
  BuiltinOperator.DEQUANTIZE,
]);
