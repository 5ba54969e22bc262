// Saves and loads tfjs models as model.json + binary weight shards with node:fs, in exactly the
// layout tf.loadLayersModel(url) reads in the browser. tfjs only ships a file:// handler inside
// tfjs-node; the wasm and cpu backends have none, and the trainer must work on all three.
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize, sep } from 'node:path';
import { tf } from '../../core/tf.ts';
import { classOutputIndex, gateOutputIndex } from '../../core/dermoscopy-gate.ts';
import { readMetadata } from '../../core/model-metadata.ts';

/** tfjs' converter default: shards of at most 4 MiB download and cache well in browsers. */
export const MAX_SHARD_BYTES = 4 * 1024 * 1024;
export const MODEL_JSON = 'model.json';
const SHARD_NAME = /^group\d+-shard\d+of\d+\.bin$/;

type WeightsManifestEntry = tf.io.WeightsManifestEntry;

const shardName = (i: number, count: number) => `group1-shard${i + 1}of${count}.bin`;

/** Bytes the weight specs say the data must have, or null when it cannot be known up front (string weights). */
export function expectedWeightBytes(specs: readonly WeightsManifestEntry[]): number | null {
  let total = 0;
  for (const spec of specs) {
    const count = spec.shape.reduce((a, b) => a * b, 1);
    if (spec.dtype === 'string') return null;
    const q = spec.quantization?.dtype;
    const bytes = q ? (q === 'uint8' ? 1 : 2) : spec.dtype === 'bool' ? 1 : 4;
    total += count * bytes;
  }
  return total;
}

/**
 * An IOHandler that writes model.json and group1-shardKofN.bin files (each <= 4 MiB) into dir,
 * creating it if needed. model.json is written last through a temporary file and rename, so an
 * interrupted save never leaves a model.json that points at missing or half-written shards.
 */
export function fileSaveHandler(dir: string, maxShardBytes = MAX_SHARD_BYTES): tf.io.IOHandler {
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      if (artifacts.modelTopology instanceof ArrayBuffer) {
        throw new Error(`fileSaveHandler(${dir}): binary (GraphDef) model topologies are not supported; save a layers model`);
      }
      const weights = new tf.io.CompositeArrayBuffer(artifacts.weightData ?? []);
      const count = Math.max(1, Math.ceil(weights.byteLength / maxShardBytes));
      const paths = Array.from({ length: count }, (_, i) => shardName(i, count));
      try {
        await mkdir(dir, { recursive: true });
        for (let i = 0; i < count; i++) {
          const bytes = weights.slice(i * maxShardBytes, Math.min((i + 1) * maxShardBytes, weights.byteLength));
          await writeFile(join(dir, paths[i]), new Uint8Array(bytes));
        }
        const modelJson: tf.io.ModelJSON = {
          modelTopology: artifacts.modelTopology ?? {},
          format: artifacts.format,
          generatedBy: artifacts.generatedBy,
          convertedBy: artifacts.convertedBy,
          weightsManifest: [{ paths, weights: artifacts.weightSpecs ?? [] }],
          ...(artifacts.trainingConfig ? { trainingConfig: artifacts.trainingConfig } : {}),
          ...(artifacts.signature ? { signature: artifacts.signature } : {}),
          ...(artifacts.userDefinedMetadata ? { userDefinedMetadata: artifacts.userDefinedMetadata } : {}),
          ...(artifacts.modelInitializer ? { modelInitializer: artifacts.modelInitializer } : {}),
          ...(artifacts.initializerSignature ? { initializerSignature: artifacts.initializerSignature } : {}),
        };
        const target = join(dir, MODEL_JSON);
        const temp = `${target}.${process.pid}.tmp`;
        await writeFile(temp, JSON.stringify(modelJson));
        await rename(temp, target);
        // Shards left over from an earlier save with a different shard count.
        const keep = new Set(paths);
        for (const name of await readdir(dir)) {
          if (SHARD_NAME.test(name) && !keep.has(name)) await rm(join(dir, name), { force: true });
        }
      } catch (err) {
        throw new Error(`could not save the model to ${dir}: ${(err as Error).message}`, { cause: err });
      }
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    },
  };
}

/** Resolves a manifest path inside the model's folder; refuses absolute paths and '..' escapes. */
function shardPath(modelDir: string, path: string, modelJsonPath: string): string {
  const clean = normalize(path);
  if (isAbsolute(path) || clean === '..' || clean.startsWith(`..${sep}`) || /^[a-z]+:\/\//i.test(path)) {
    throw new Error(`${modelJsonPath}: weight path ${JSON.stringify(path)} must be relative to the model folder`);
  }
  return join(modelDir, clean);
}

/** An IOHandler that reads a model.json written by fileSaveHandler, tfjs or the tfjs converter (quantized weights included). */
export function fileLoadHandler(modelJsonPath: string): tf.io.IOHandler {
  return {
    async load(): Promise<tf.io.ModelArtifacts> {
      let text: string;
      try {
        text = await readFile(modelJsonPath, 'utf8');
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        throw new Error(
          code === 'ENOENT' ? `model file not found: ${modelJsonPath}` : `cannot read ${modelJsonPath}: ${(err as Error).message}`,
        );
      }
      let modelJson: tf.io.ModelJSON;
      try {
        modelJson = JSON.parse(text);
      } catch (err) {
        throw new Error(`${modelJsonPath} is not valid JSON: ${(err as Error).message}`);
      }
      if (typeof modelJson !== 'object' || modelJson === null || modelJson.modelTopology == null) {
        throw new Error(`${modelJsonPath} is not a tfjs model.json (no modelTopology)`);
      }
      const modelDir = dirname(modelJsonPath);
      return tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => {
        if (!Array.isArray(manifest)) throw new Error(`${modelJsonPath}: weightsManifest must be an array`);
        const specs: WeightsManifestEntry[] = [];
        const buffers: ArrayBuffer[] = [];
        for (const group of manifest) {
          specs.push(...group.weights);
          for (const path of group.paths) {
            const file = shardPath(modelDir, path, modelJsonPath);
            let bytes: Buffer;
            try {
              bytes = await readFile(file);
            } catch (err) {
              throw new Error(
                `${modelJsonPath}: weight file ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
              );
            }
            buffers.push(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
          }
        }
        const data = tf.io.CompositeArrayBuffer.join(buffers);
        const expected = expectedWeightBytes(specs);
        if (expected !== null && expected !== data.byteLength) {
          throw new Error(
            `${modelJsonPath}: the weight files hold ${data.byteLength} bytes but the manifest describes ${expected} (truncated or mismatched shards)`,
          );
        }
        return [specs, data];
      });
    },
  };
}

/** A run's exported model without its gate (a model already gated is refitted from its classifier alone). */
export async function loadClassifierOnly(dir: string) {
  const model = await tf.loadLayersModel(fileLoadHandler(join(dir, MODEL_JSON)));
  const metadata = readMetadata(model);
  const classifier =
    gateOutputIndex(model) === null
      ? model
      : tf.model({ inputs: model.inputs, outputs: model.outputs[classOutputIndex(model)], name: model.name });
  return { model: classifier, metadata, dispose: () => model.dispose() };
}
