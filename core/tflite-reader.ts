/**
 * A reader for the part of the TensorFlow Lite flatbuffer format that a convolutional image
 * classifier uses: the first subgraph's tensors (shape, type, quantization, constant data) and its
 * operators with their builtin options. Field numbers follow tensorflow/lite/schema/schema.fbs; the
 * `flatbuffers` library (Google's own runtime) does the bounds-checked decoding, so this file only
 * names fields. Nothing here depends on tfjs: it runs in Node and in the browser alike.
 */
import { ByteBuffer } from 'flatbuffers';

export class TfliteFormatError extends Error {
  override name = 'TfliteFormatError';
}

/** schema.fbs `TensorType` values this reader understands. */
export const TensorType = { FLOAT32: 0, FLOAT16: 1, INT32: 2, UINT8: 3, INT64: 4, INT8: 9 } as const;
const TENSOR_TYPE_NAMES: Record<number, string> = {
  0: 'FLOAT32',
  1: 'FLOAT16',
  2: 'INT32',
  3: 'UINT8',
  4: 'INT64',
  5: 'STRING',
  6: 'BOOL',
  7: 'INT16',
  8: 'COMPLEX64',
  9: 'INT8',
  10: 'FLOAT64',
  11: 'COMPLEX128',
  12: 'UINT64',
  15: 'UINT32',
  16: 'UINT16',
  17: 'INT4',
};

/** schema.fbs `BuiltinOperator` values, named for the error messages; the converter maps a subset. */
export const BuiltinOperator = {
  ADD: 0,
  AVERAGE_POOL_2D: 1,
  CONCATENATION: 2,
  CONV_2D: 3,
  DEPTHWISE_CONV_2D: 4,
  DEQUANTIZE: 6,
  FULLY_CONNECTED: 9,
  LOGISTIC: 14,
  MAX_POOL_2D: 17,
  MUL: 18,
  RELU: 19,
  RELU6: 21,
  RESHAPE: 22,
  RESIZE_BILINEAR: 23,
  SOFTMAX: 25,
  PAD: 34,
  MEAN: 40,
  SQUEEZE: 43,
  QUANTIZE: 114,
} as const;
const OPERATOR_NAMES: Record<number, string> = Object.fromEntries(Object.entries(BuiltinOperator).map(([name, code]) => [code, name]));
export function operatorName(code: number): string {
  return OPERATOR_NAMES[code] ?? `builtin operator #${code}`;
}
export function tensorTypeName(type: number): string {
  return TENSOR_TYPE_NAMES[type] ?? `tensor type #${type}`;
}

export interface TfliteQuantization {
  scale: Float32Array;
  zeroPoint: number[];
  /** The axis `scale` runs along when it has more than one entry (per-channel quantization). */
  quantizedDimension: number;
}

export interface TfliteTensor {
  index: number;
  name: string;
  shape: number[];
  type: number;
  /** Constant data (weights, biases, shapes), or null for an activation. */
  data: Uint8Array | null;
  quantization: TfliteQuantization | null;
}

/** Builtin options of the ops the converter maps, decoded into plain fields. */
export interface TfliteOptions {
  padding?: 'same' | 'valid';
  strideW?: number;
  strideH?: number;
  dilationW?: number;
  dilationH?: number;
  depthMultiplier?: number;
  filterW?: number;
  filterH?: number;
  /** schema.fbs ActivationFunctionType: 0 none, 1 relu, 2 relu_n1_to_1, 3 relu6, 4 tanh. */
  activation?: number;
  newShape?: number[];
  beta?: number;
  /** MEAN (schema.fbs ReducerOptions): keep the reduced axes as size 1. */
  keepDims?: boolean;
}

export interface TfliteOperator {
  index: number;
  opcode: number;
  inputs: number[];
  outputs: number[];
  options: TfliteOptions;
}

export interface TfliteModel {
  version: number;
  description: string;
  tensors: TfliteTensor[];
  inputs: number[];
  outputs: number[];
  operators: TfliteOperator[];
}

// A table is read through its vtable: field id n lives at vtable offset 4 + 2n.
type Table = { bb: ByteBuffer; pos: number };
const slot = (id: number) => 4 + 2 * id;

function field(t: Table, id: number): number {
  return t.bb.__offset(t.pos, slot(id));
}
/** A reader of one scalar field type: the field's value, or `fallback` when the table omits it (flatbuffers' defaults). */
const scalarReader =
  (read: (bb: ByteBuffer, at: number) => number) =>
  (t: Table, id: number, fallback = 0): number => {
    const o = field(t, id);
    return o ? read(t.bb, t.pos + o) : fallback;
  };
const readInt = scalarReader((bb, at) => bb.readInt32(at));
const readUint = scalarReader((bb, at) => bb.readUint32(at));
const readInt8 = scalarReader((bb, at) => bb.readInt8(at));
const readUint8 = scalarReader((bb, at) => bb.readUint8(at));
const readFloat = scalarReader((bb, at) => bb.readFloat32(at));
function readString(t: Table, id: number): string {
  const o = field(t, id);
  return o ? (t.bb.__string(t.pos + o) as string) : '';
}
function readTable(t: Table, id: number): Table | null {
  const o = field(t, id);
  return o ? { bb: t.bb, pos: t.bb.__indirect(t.pos + o) } : null;
}
function vectorOf(t: Table, id: number): { start: number; length: number } | null {
  const o = field(t, id);
  return o ? { start: t.bb.__vector(t.pos + o), length: t.bb.__vector_len(t.pos + o) } : null;
}
function readTables(t: Table, id: number): Table[] {
  const v = vectorOf(t, id);
  if (!v) return [];
  return Array.from({ length: v.length }, (_, i) => ({ bb: t.bb, pos: t.bb.__indirect(v.start + 4 * i) }));
}
function readInts(t: Table, id: number): number[] {
  const v = vectorOf(t, id);
  return v ? Array.from({ length: v.length }, (_, i) => t.bb.readInt32(v.start + 4 * i)) : [];
}
function readFloats(t: Table, id: number): Float32Array {
  const v = vectorOf(t, id);
  return v ? Float32Array.from({ length: v.length }, (_, i) => t.bb.readFloat32(v.start + 4 * i)) : new Float32Array();
}
function readLongs(t: Table, id: number): number[] {
  const v = vectorOf(t, id);
  return v ? Array.from({ length: v.length }, (_, i) => Number(t.bb.readInt64(v.start + 8 * i))) : [];
}
function readBytes(t: Table, id: number): Uint8Array | null {
  const v = vectorOf(t, id);
  return v && v.length > 0 ? t.bb.bytes().subarray(v.start, v.start + v.length) : null;
}

// schema.fbs ids of the fields read below, so each number appears once with its name.
const MODEL = { version: 0, operatorCodes: 1, subgraphs: 2, description: 3, buffers: 4 };
const OPERATOR_CODE = { deprecatedBuiltinCode: 0, builtinCode: 3 };
const SUBGRAPH = { tensors: 0, inputs: 1, outputs: 2, operators: 3 };
const TENSOR = { shape: 0, type: 1, buffer: 2, name: 3, quantization: 4, sparsity: 6 };
const QUANT = { scale: 2, zeroPoint: 3, quantizedDimension: 6 };
const OPERATOR = { opcodeIndex: 0, inputs: 1, outputs: 2, builtinOptions: 4 };
const BUFFER = { data: 0, offset: 1, size: 2 };

/** Decodes one op's builtin options table (schema.fbs Conv2DOptions, Pool2DOptions, ...). */
function readOptions(opcode: number, t: Table | null): TfliteOptions {
  if (!t) return {};
  const padding = (id: number) => (readInt8(t, id) === 1 ? 'valid' : 'same') as 'same' | 'valid';
  switch (opcode) {
    case BuiltinOperator.CONV_2D:
      return {
        padding: padding(0),
        strideW: readInt(t, 1),
        strideH: readInt(t, 2),
        activation: readInt8(t, 3),
        dilationW: readInt(t, 4, 1),
        dilationH: readInt(t, 5, 1),
      };
    case BuiltinOperator.DEPTHWISE_CONV_2D:
      return {
        padding: padding(0),
        strideW: readInt(t, 1),
        strideH: readInt(t, 2),
        depthMultiplier: readInt(t, 3),
        activation: readInt8(t, 4),
        dilationW: readInt(t, 5, 1),
        dilationH: readInt(t, 6, 1),
      };
    case BuiltinOperator.AVERAGE_POOL_2D:
    case BuiltinOperator.MAX_POOL_2D:
      return {
        padding: padding(0),
        strideW: readInt(t, 1),
        strideH: readInt(t, 2),
        filterW: readInt(t, 3),
        filterH: readInt(t, 4),
        activation: readInt8(t, 5),
      };
    case BuiltinOperator.ADD:
      return { activation: readInt8(t, 0) };
    case BuiltinOperator.RESHAPE:
      return { newShape: readInts(t, 0) };
    case BuiltinOperator.SOFTMAX:
      return { beta: readFloat(t, 0, 1) };
    case BuiltinOperator.MEAN:
      return { keepDims: readUint8(t, 0) !== 0 };
    default:
      return {};
  }
}

/**
 * Parses a .tflite file. `source` names the file in every error message. Throws TfliteFormatError
 * for anything that is not a complete TFLite model (wrong identifier, truncated, out-of-range
 * references), never a bare RangeError.
 */
export function readTflite(bytes: Uint8Array, source = 'the model file'): TfliteModel {
  if (bytes.length < 8) throw new TfliteFormatError(`${source} is ${bytes.length} bytes long: too short to be a TFLite model.`);
  const bb = new ByteBuffer(bytes);
  if (!bb.__has_identifier('TFL3')) {
    throw new TfliteFormatError(`${source} is not a TFLite model (its flatbuffer identifier is not "TFL3"); pass a .tflite file.`);
  }
  try {
    return decode(bb, bytes, source);
  } catch (error) {
    if (error instanceof TfliteFormatError) throw error;
    // The flatbuffers runtime reads past the end of a cut file as a RangeError (or garbage offsets).
    throw new TfliteFormatError(`${source} is damaged or truncated (${(error as Error).message}); download it again.`);
  }
}

function decode(bb: ByteBuffer, bytes: Uint8Array, source: string): TfliteModel {
  const model: Table = { bb, pos: bb.readInt32(bb.position()) + bb.position() };
  if (model.pos >= bytes.length) throw new TfliteFormatError(`${source} is truncated: its root table lies past the end.`);
  const codes = readTables(model, MODEL.operatorCodes).map((c) =>
    // Files written before schema v3a keep the code in the int8 field; newer ones in both, capped at 127.
    Math.max(readInt8(c, OPERATOR_CODE.deprecatedBuiltinCode), readInt(c, OPERATOR_CODE.builtinCode)),
  );
  const buffers = readTables(model, MODEL.buffers);
  const subgraphs = readTables(model, MODEL.subgraphs);
  if (subgraphs.length === 0) throw new TfliteFormatError(`${source} has no subgraph: nothing to convert.`);
  if (subgraphs.length > 1)
    throw new TfliteFormatError(`${source} has ${subgraphs.length} subgraphs; only single-graph models are supported.`);
  const graph = subgraphs[0];

  const tensors = readTables(graph, SUBGRAPH.tensors).map((t, index): TfliteTensor => {
    const bufferIndex = readUint(t, TENSOR.buffer);
    if (bufferIndex >= buffers.length && bufferIndex !== 0) {
      throw new TfliteFormatError(`${source}: tensor ${index} refers to buffer ${bufferIndex}, but the file has ${buffers.length}.`);
    }
    if (field(t, TENSOR.sparsity)) throw new TfliteFormatError(`${source}: tensor ${index} is sparse; sparse tensors are not supported.`);
    const buffer = buffers[bufferIndex];
    let data = buffer ? readBytes(buffer, BUFFER.data) : null;
    // Files over 2 GB keep data outside the flatbuffer, addressed by (offset, size) from the file start.
    if (!data && buffer && field(buffer, BUFFER.offset)) {
      const offset = Number(bb.readUint64(buffer.pos + field(buffer, BUFFER.offset)));
      const size = Number(bb.readUint64(buffer.pos + field(buffer, BUFFER.size)));
      if (offset > 1 && offset + size > bytes.length) {
        throw new TfliteFormatError(`${source} is truncated: tensor ${index}'s data ends at byte ${offset + size} of ${bytes.length}.`);
      }
      if (offset > 1 && size > 0) data = bytes.subarray(offset, offset + size);
    }
    const q = readTable(t, TENSOR.quantization);
    const scale = q ? readFloats(q, QUANT.scale) : new Float32Array();
    return {
      index,
      name: readString(t, TENSOR.name),
      shape: readInts(t, TENSOR.shape),
      type: readInt8(t, TENSOR.type),
      data,
      quantization:
        q && scale.length > 0
          ? { scale, zeroPoint: readLongs(q, QUANT.zeroPoint), quantizedDimension: readInt(q, QUANT.quantizedDimension) }
          : null,
    };
  });

  const checkTensor = (i: number, where: string) => {
    if (i !== -1 && (i < 0 || i >= tensors.length)) {
      throw new TfliteFormatError(`${source}: ${where} refers to tensor ${i}, but the graph has ${tensors.length}.`);
    }
  };
  const operators = readTables(graph, SUBGRAPH.operators).map((op, index): TfliteOperator => {
    const codeIndex = readUint(op, OPERATOR.opcodeIndex);
    if (codeIndex >= codes.length) {
      throw new TfliteFormatError(`${source}: operator ${index} uses operator code ${codeIndex}, but the file lists ${codes.length}.`);
    }
    const opcode = codes[codeIndex];
    const inputs = readInts(op, OPERATOR.inputs);
    const outputs = readInts(op, OPERATOR.outputs);
    inputs.forEach((i) => checkTensor(i, `operator ${index} (${operatorName(opcode)})`));
    outputs.forEach((i) => checkTensor(i, `operator ${index} (${operatorName(opcode)})`));
    return { index, opcode, inputs, outputs, options: readOptions(opcode, readTable(op, OPERATOR.builtinOptions)) };
  });
  const inputs = readInts(graph, SUBGRAPH.inputs);
  const outputs = readInts(graph, SUBGRAPH.outputs);
  inputs.forEach((i) => checkTensor(i, 'the graph input'));
  outputs.forEach((i) => checkTensor(i, 'the graph output'));
  return {
    version: readUint(model, MODEL.version),
    description: readString(model, MODEL.description),
    tensors,
    inputs,
    outputs,
    operators,
  };
}

/**
 * A constant tensor's values as float32: float32/float16 as stored, int8/uint8/int32 dequantized as
 * scale * (q - zeroPoint), per tensor or per channel along `quantizedDimension`, as the file says.
 */
export function dequantize(tensor: TfliteTensor, source = 'the model file'): Float32Array {
  const { data, type, shape, quantization: q } = tensor;
  if (!data) throw new TfliteFormatError(`${source}: tensor ${tensor.index} (${tensor.name}) has no constant data.`);
  const count = shape.reduce((a, b) => a * b, 1);
  const bytesPer =
    type === TensorType.INT32 || type === TensorType.FLOAT32 ? 4 : type === TensorType.FLOAT16 ? 2 : type === TensorType.INT64 ? 8 : 1;
  if (data.length < count * bytesPer) {
    throw new TfliteFormatError(
      `${source} is truncated or damaged: tensor ${tensor.index} (${tensor.name}) needs ${count * bytesPer} bytes, has ${data.length}.`,
    );
  }
  const view = new DataView(data.buffer, data.byteOffset, data.length);
  const raw = new Float64Array(count);
  switch (type) {
    case TensorType.FLOAT32:
      for (let i = 0; i < count; i++) raw[i] = view.getFloat32(4 * i, true);
      return Float32Array.from(raw);
    case TensorType.FLOAT16:
      for (let i = 0; i < count; i++) raw[i] = halfToFloat(view.getUint16(2 * i, true));
      return Float32Array.from(raw);
    case TensorType.UINT8:
      for (let i = 0; i < count; i++) raw[i] = view.getUint8(i);
      break;
    case TensorType.INT8:
      for (let i = 0; i < count; i++) raw[i] = view.getInt8(i);
      break;
    case TensorType.INT32:
      for (let i = 0; i < count; i++) raw[i] = view.getInt32(4 * i, true);
      break;
    default:
      throw new TfliteFormatError(
        `${source}: tensor ${tensor.index} (${tensor.name}) is ${tensorTypeName(type)}, which cannot be dequantized.`,
      );
  }
  if (!q) {
    if (type === TensorType.INT32) return Float32Array.from(raw);
    throw new TfliteFormatError(
      `${source}: tensor ${tensor.index} (${tensor.name}) is ${tensorTypeName(type)} without quantization parameters.`,
    );
  }
  const channels = q.scale.length;
  const out = new Float32Array(count);
  if (channels === 1) {
    const zp = q.zeroPoint[0] ?? 0;
    for (let i = 0; i < count; i++) out[i] = q.scale[0] * (raw[i] - zp);
    return out;
  }
  const axis = q.quantizedDimension;
  if (shape[axis] !== channels) {
    throw new TfliteFormatError(
      `${source}: tensor ${tensor.index} (${tensor.name}) has ${channels} scales for dimension ${axis} of size ${shape[axis]}.`,
    );
  }
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  for (let i = 0; i < count; i++) {
    const c = Math.floor(i / inner) % channels;
    out[i] = q.scale[c] * (raw[i] - (q.zeroPoint[c] ?? 0));
  }
  return out;
}

/** IEEE 754 half -> number. */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}
