// Writes small TFLite flatbuffers for tests (field numbers from tensorflow/lite/schema/schema.fbs),
// so the converter is tested on files made here, without the licensed published models.
import { Builder } from 'flatbuffers';

export interface TensorSpec {
  shape: number[];
  /** schema.fbs TensorType: 0 float32, 2 int32, 3 uint8, 9 int8. */
  type: number;
  name?: string;
  data?: Uint8Array;
  quantization?: { scale: number[]; zeroPoint: number[]; quantizedDimension?: number };
}

export interface OperatorSpec {
  opcode: number;
  inputs: number[];
  outputs: number[];
  /** Scalar fields of the builtin options table by field id, each [kind, value]. */
  options?: Record<number, ['int8' | 'int32' | 'float32' | 'bool', number]>;
  /** An int vector field of the options table (RESHAPE's new_shape), by field id. */
  optionVectors?: Record<number, number[]>;
  optionsType?: number;
}

export interface GraphSpec {
  tensors: TensorSpec[];
  operators: OperatorSpec[];
  inputs: number[];
  outputs: number[];
}

export function buildTflite(spec: GraphSpec): Uint8Array {
  const b = new Builder(1024);
  const intVector = (values: number[]) => {
    b.startVector(4, values.length, 4);
    for (let i = values.length - 1; i >= 0; i--) b.addInt32(values[i]);
    return b.endVector();
  };
  const floatVector = (values: number[]) => {
    b.startVector(4, values.length, 4);
    for (let i = values.length - 1; i >= 0; i--) b.addFloat32(values[i]);
    return b.endVector();
  };
  const longVector = (values: number[]) => {
    b.startVector(8, values.length, 8);
    for (let i = values.length - 1; i >= 0; i--) b.addInt64(BigInt(values[i]));
    return b.endVector();
  };
  const tableVector = (offsets: number[]) => {
    b.startVector(4, offsets.length, 4);
    for (let i = offsets.length - 1; i >= 0; i--) b.addOffset(offsets[i]);
    return b.endVector();
  };

  // Buffers: 0 is the empty sentinel, then one per constant tensor.
  const bufferOffsets: number[] = [];
  b.startObject(1);
  bufferOffsets.push(b.endObject());
  const bufferIndex: number[] = [];
  for (const t of spec.tensors) {
    if (!t.data) {
      bufferIndex.push(0);
      continue;
    }
    b.startVector(1, t.data.length, 16);
    for (let i = t.data.length - 1; i >= 0; i--) b.addInt8(t.data[i]);
    const data = b.endVector();
    b.startObject(1);
    b.addFieldOffset(0, data, 0);
    bufferIndex.push(bufferOffsets.length);
    bufferOffsets.push(b.endObject());
  }

  const tensorOffsets = spec.tensors.map((t, i) => {
    const name = b.createString(t.name ?? `t${i}`);
    const shape = intVector(t.shape);
    let quant = 0;
    if (t.quantization) {
      const scale = floatVector(t.quantization.scale);
      const zp = longVector(t.quantization.zeroPoint);
      b.startObject(7);
      b.addFieldOffset(2, scale, 0);
      b.addFieldOffset(3, zp, 0);
      b.addFieldInt32(6, t.quantization.quantizedDimension ?? 0, -1);
      quant = b.endObject();
    }
    b.startObject(10);
    b.addFieldOffset(0, shape, 0);
    b.addFieldInt8(1, t.type, -1);
    b.addFieldInt32(2, bufferIndex[i], -1);
    b.addFieldOffset(3, name, 0);
    if (quant) b.addFieldOffset(4, quant, 0);
    return b.endObject();
  });

  const opcodes = [...new Set(spec.operators.map((o) => o.opcode))];
  const operatorOffsets = spec.operators.map((op) => {
    const inputs = intVector(op.inputs);
    const outputs = intVector(op.outputs);
    const vectors = Object.fromEntries(Object.entries(op.optionVectors ?? {}).map(([id, v]) => [id, intVector(v)]));
    let options = 0;
    if (op.options || op.optionVectors) {
      b.startObject(16);
      for (const [id, [kind, value]] of Object.entries(op.options ?? {})) {
        const f = Number(id);
        if (kind === 'int8' || kind === 'bool') b.addFieldInt8(f, value, -1);
        else if (kind === 'int32') b.addFieldInt32(f, value, -1);
        else b.addFieldFloat32(f, value, -1);
      }
      for (const [id, offset] of Object.entries(vectors)) b.addFieldOffset(Number(id), offset, 0);
      options = b.endObject();
    }
    b.startObject(13);
    b.addFieldInt32(0, opcodes.indexOf(op.opcode), -1);
    b.addFieldOffset(1, inputs, 0);
    b.addFieldOffset(2, outputs, 0);
    if (options) {
      b.addFieldInt8(3, op.optionsType ?? 1, -1);
      b.addFieldOffset(4, options, 0);
    }
    return b.endObject();
  });

  const codeOffsets = opcodes.map((code) => {
    b.startObject(4);
    b.addFieldInt8(0, Math.min(code, 127), -1);
    b.addFieldInt32(2, 1, -1);
    b.addFieldInt32(3, code, -1);
    return b.endObject();
  });

  const tensors = tableVector(tensorOffsets);
  const operators = tableVector(operatorOffsets);
  const inputs = intVector(spec.inputs);
  const outputs = intVector(spec.outputs);
  const graphName = b.createString('main');
  b.startObject(5);
  b.addFieldOffset(0, tensors, 0);
  b.addFieldOffset(1, inputs, 0);
  b.addFieldOffset(2, outputs, 0);
  b.addFieldOffset(3, operators, 0);
  b.addFieldOffset(4, graphName, 0);
  const graph = b.endObject();

  const codes = tableVector(codeOffsets);
  const subgraphs = tableVector([graph]);
  const buffers = tableVector(bufferOffsets);
  const description = b.createString('dermlens test model');
  b.startObject(8);
  b.addFieldInt32(0, 3, -1);
  b.addFieldOffset(1, codes, 0);
  b.addFieldOffset(2, subgraphs, 0);
  b.addFieldOffset(3, description, 0);
  b.addFieldOffset(4, buffers, 0);
  b.finish(b.endObject(), 'TFL3');
  return b.asUint8Array().slice();
}

/** Quantizes floats to uint8/int8 bytes with one scale (per tensor) or one per slice along `axis`. */
export function quantizeBytes(
  values: Float32Array,
  shape: number[],
  kind: 'uint8' | 'int8',
  axis: number | null,
): { data: Uint8Array; scale: number[]; zeroPoint: number[]; dequantized: Float32Array } {
  const channels = axis === null ? 1 : shape[axis];
  const inner = axis === null ? values.length : shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const channelOf = (i: number) => (axis === null ? 0 : Math.floor(i / inner) % channels);
  const scale: number[] = [];
  const zeroPoint: number[] = [];
  for (let c = 0; c < channels; c++) {
    let max = 1e-6;
    values.forEach((v, i) => {
      if (channelOf(i) === c) max = Math.max(max, Math.abs(v));
    });
    scale.push(kind === 'int8' ? max / 127 : (2 * max) / 255);
    zeroPoint.push(kind === 'int8' ? 0 : 128);
  }
  const data = new Uint8Array(values.length);
  const dequantized = new Float32Array(values.length);
  values.forEach((v, i) => {
    const c = channelOf(i);
    const lo = kind === 'int8' ? -127 : 0,
      hi = kind === 'int8' ? 127 : 255;
    const q = Math.max(lo, Math.min(hi, Math.round(v / scale[c]) + zeroPoint[c]));
    data[i] = q & 0xff;
    dequantized[i] = Math.fround(scale[c]) * (q - zeroPoint[c]);
  });
  return { data, scale, zeroPoint, dequantized };
}

export function int32Bytes(values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setInt32(4 * i, v, true));
  return out;
}
