// Pretrained backbones: `dermlens import-backbone <model.tflite> --out <dir>` turns a published TFLite
// MobileNetV2 into a TF.js layers model (core/tflite-to-layers.ts) plus backbone.json (which file it
// was, its sha256, how its weights were quantized), and `train --backbone <dir|file.tflite>` loads either.
// The files themselves are data with their own licence: they are read from where the user keeps them
// and never copied into the project; a run records the sha256 of the one it started from.
import { createHash } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { tf } from '../../core/tf.ts';
import { readTflite } from '../../core/tflite-reader.ts';
import { tfliteToLayers, type InputRescaling } from '../../core/tflite-to-layers.ts';
import { fileLoadHandler, fileSaveHandler } from '../run/model-files.ts';

export const BACKBONE_INFO = 'backbone.json';

/** The published files this project was checked against (../shared/pretrained/mobilenet_v2_imagenet/README.md). */
export const KNOWN_BACKBONES: Record<string, { name: string; description: string; licence: string }> = {
  '7aad0c74c5e3c06e5eb3c827e13304fdd68a83da6087d92ee169c24ff9fd4776': {
    name: 'mobilenet_v2_1.0_224_quant.tflite',
    description: 'MobileNetV2 1.0 224, ImageNet, quantization-aware trained (uint8 per tensor), TF hosted model',
    licence: 'Apache-2.0',
  },
  '5d3137241276e79c86d14a74fe43581398ae0e815191d3dba45495b810840e8c': {
    name: 'tf2_mobilenet_v2_1.0_224_ptq.tflite',
    description: 'MobileNetV2 1.0 224, ImageNet, TF2/Keras, post-training quantized (int8 per channel)',
    licence: 'Apache-2.0',
  },
};

export interface BackboneInfo {
  format: 'dermlens-backbone-v1';
  /** File name and sha256 of the TFLite file it was converted from. */
  sourceFile: string;
  sha256: string;
  bytes: number;
  /** What the sha256 identifies, or null for a file this project has not been checked against. */
  knownAs: string | null;
  description: string | null;
  licence: string | null;
  rescaling: InputRescaling;
  opCounts: Record<string, number>;
  weightQuantization: Record<string, number>;
  parameters: number;
}

export interface LoadedBackbone {
  model: tf.LayersModel;
  info: BackboneInfo;
}

async function readFileNamed(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `${what} not found: ${path}` : `cannot read ${what} ${path}: ${(err as Error).message}`);
  }
}

/** Reads and converts a .tflite file in memory; the caller disposes the model. */
export async function convertTfliteFile(path: string): Promise<LoadedBackbone> {
  const bytes = await readFileNamed(path, 'TFLite file');
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const known = KNOWN_BACKBONES[sha256] ?? null;
  const converted = tfliteToLayers(readTflite(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), path), path);
  return {
    model: converted.model,
    info: {
      format: 'dermlens-backbone-v1',
      sourceFile: basename(path),
      sha256,
      bytes: bytes.length,
      knownAs: known?.name ?? null,
      description: known?.description ?? null,
      licence: known?.licence ?? null,
      rescaling: converted.rescaling,
      opCounts: converted.opCounts,
      weightQuantization: converted.weightQuantization,
      parameters: converted.model.countParams(),
    },
  };
}

/** `dermlens import-backbone`: converts and writes model.json + shards + backbone.json into outDir. */
export async function importBackbone(tflitePath: string, outDir: string): Promise<BackboneInfo> {
  const { model, info } = await convertTfliteFile(tflitePath);
  try {
    await model.save(fileSaveHandler(outDir));
    await writeFile(join(outDir, BACKBONE_INFO), `${JSON.stringify(info, null, 1)}\n`);
    return info;
  } finally {
    model.dispose();
  }
}

/** A backbone folder written by importBackbone, or a .tflite file converted on the fly. */
export async function loadBackbone(path: string): Promise<LoadedBackbone> {
  const full = resolve(path);
  const isDir = await stat(full).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!isDir) return convertTfliteFile(full);
  const infoPath = join(full, BACKBONE_INFO);
  const info = JSON.parse((await readFileNamed(infoPath, 'backbone description')).toString('utf8')) as BackboneInfo;
  if (info.format !== 'dermlens-backbone-v1')
    throw new Error(`${infoPath} is not a DermLens backbone description; import the file again with dermlens import-backbone`);
  return { model: await tf.loadLayersModel(fileLoadHandler(join(full, 'model.json'))), info };
}

/** One line per fact, for the import command and the training log. */
export function describeBackbone(info: BackboneInfo): string {
  const ops = Object.entries(info.opCounts)
    .map(([op, n]) => `${op} ${n}`)
    .join(', ');
  const quant = Object.entries(info.weightQuantization)
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');
  return [
    `${info.sourceFile}: ${info.knownAs ? `${info.description} (${info.licence})` : 'not one of the files DermLens was checked against'}`,
    `  sha256 ${info.sha256}, ${info.bytes.toLocaleString('en-US')} bytes`,
    `  ops: ${ops}`,
    `  weights dequantized to float32: ${quant} tensors; ${info.parameters.toLocaleString('en-US')} parameters`,
    `  input: [0, 1] pixels * ${info.rescaling.scale.toPrecision(6)} + ${info.rescaling.offset.toPrecision(6)}`,
  ].join('\n');
}
