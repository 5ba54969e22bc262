import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '@tensorflow/tfjs-backend-cpu';
import { tf } from '../../core/tf.ts';
import { expectedWeightBytes, fileLoadHandler, fileSaveHandler } from '../../trainer/run/model-files.ts';

before(async () => {
  await tf.setBackend('cpu');
});

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'dermlens-model-io-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A small conv net with batch norm, like the real ones, with deterministic weights. */
function smallModel(): tf.LayersModel {
  const model = tf.sequential();
  model.add(
    tf.layers.conv2d({
      inputShape: [8, 8, 3],
      filters: 4,
      kernelSize: 3,
      activation: 'relu',
      kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
    }),
  );
  model.add(tf.layers.batchNormalization());
  model.add(tf.layers.flatten());
  model.add(tf.layers.dense({ units: 7, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }));
  return model;
}

const input = () => tf.randomUniform([5, 8, 8, 3], 0, 1, 'float32', 3);

async function predictions(model: tf.LayersModel): Promise<Float32Array> {
  const x = input();
  const y = model.predict(x) as tf.Tensor;
  const values = (await y.data()) as Float32Array;
  tf.dispose([x, y]);
  return values;
}

test('save then load gives the same model: predictions, metadata, tfjs file layout; nothing leaks', async () => {
  await withTempDir(async (dir) => {
    const before = tf.memory().numTensors;
    const model = smallModel();
    const metadata = { classes: ['akiec', 'bcc'], inputSize: 8, preprocess: 'rgba-crop4:3-area-v1', nested: { auc: 0.9 } };
    model.setUserDefinedMetadata(metadata);
    const result = await model.save(fileSaveHandler(join(dir, 'out')));
    assert.ok(result.modelArtifactsInfo.weightDataBytes! > 0);

    const files = (await readdir(join(dir, 'out'))).sort();
    assert.deepEqual(files, ['group1-shard1of1.bin', 'model.json']);
    const json = JSON.parse(await readFile(join(dir, 'out', 'model.json'), 'utf8'));
    assert.deepEqual(json.weightsManifest[0].paths, ['group1-shard1of1.bin']);
    assert.equal(json.format, 'layers-model');
    assert.equal((await stat(join(dir, 'out', 'group1-shard1of1.bin'))).size, result.modelArtifactsInfo.weightDataBytes);

    const loaded = await tf.loadLayersModel(fileLoadHandler(join(dir, 'out', 'model.json')));
    assert.deepEqual(loaded.getUserDefinedMetadata(), metadata);
    assert.deepEqual(Array.from(await predictions(loaded)), Array.from(await predictions(model)));
    model.dispose();
    loaded.dispose();
    assert.equal(tf.memory().numTensors, before);
  });
});

test('weights are split into shards of at most the given size and read back in order', async () => {
  await withTempDir(async (dir) => {
    const model = smallModel();
    const shardBytes = 300;
    const { modelArtifactsInfo } = await model.save(fileSaveHandler(dir, shardBytes));
    const total = modelArtifactsInfo.weightDataBytes!;
    const count = Math.ceil(total / shardBytes);
    const shards = (await readdir(dir)).filter((f) => f.endsWith('.bin')).sort((a, b) => parseInt(a.slice(12)) - parseInt(b.slice(12)));
    assert.equal(shards.length, count);
    assert.deepEqual(
      shards,
      Array.from({ length: count }, (_, i) => `group1-shard${i + 1}of${count}.bin`),
    );
    for (const [i, name] of shards.entries()) {
      assert.equal((await stat(join(dir, name))).size, i < count - 1 ? shardBytes : total - shardBytes * (count - 1));
    }
    const loaded = await tf.loadLayersModel(fileLoadHandler(join(dir, 'model.json')));
    assert.deepEqual(Array.from(await predictions(loaded)), Array.from(await predictions(model)));

    // Saving again with one shard removes the stale shards of the earlier save.
    await model.save(fileSaveHandler(dir));
    assert.deepEqual((await readdir(dir)).sort(), ['group1-shard1of1.bin', 'model.json']);
    model.dispose();
    loaded.dispose();
  });
});

/** IEEE 754 half-precision bits of a float (round to nearest even), as the tfjs converter writes them. */
function toFloat16Bits(value: number): number {
  const f32 = new Float32Array([value]);
  const bits = new Uint32Array(f32.buffer)[0];
  const sign = (bits >>> 16) & 0x8000;
  const exp = ((bits >>> 23) & 0xff) - 127 + 15;
  let mant = bits & 0x7fffff;
  if (exp <= 0) {
    if (exp < -10) return sign;
    mant = (mant | 0x800000) >>> (1 - exp);
    return sign | ((mant + 0x1000) >>> 13);
  }
  if (exp >= 31) return sign | 0x7c00;
  const half = sign | (exp << 10) | (mant >>> 13);
  return mant & 0x1000 && (mant & 0x2fff || half & 1) ? half + 1 : half;
}

test('loads float16 and uint8 quantized weights the way tfjs dequantizes them', async () => {
  await withTempDir(async (dir) => {
    const model = smallModel();
    await model.save(fileSaveHandler(dir));
    const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
    const specs: tf.io.WeightsManifestEntry[] = json.weightsManifest[0].weights;
    const original = new Float32Array((await readFile(join(dir, 'group1-shard1of1.bin'))).buffer.slice(0));
    const originalWeights = model.getWeights().map((w) => w.dataSync().slice());

    for (const mode of ['float16', 'uint8'] as const) {
      const parts: Uint8Array[] = [];
      let offset = 0;
      const quantSpecs = specs.map((spec) => {
        const n = spec.shape.reduce((a, b) => a * b, 1);
        const values = original.subarray(offset, offset + n);
        offset += n;
        if (mode === 'float16') {
          parts.push(new Uint8Array(Uint16Array.from(values, toFloat16Bits).buffer));
          return { ...spec, quantization: { dtype: 'float16' as const } };
        }
        const min = Math.min(...values);
        const scale = (Math.max(...values) - min) / 255 || 1;
        parts.push(Uint8Array.from(values, (v) => Math.round((v - min) / scale)));
        return { ...spec, quantization: { dtype: 'uint8' as const, min, scale } };
      });
      const qdir = join(dir, mode);
      const bytes = Buffer.concat(parts);
      await rm(qdir, { recursive: true, force: true });
      await mkdir(qdir);
      await writeFile(join(qdir, 'group1-shard1of1.bin'), bytes);
      await writeFile(
        join(qdir, 'model.json'),
        JSON.stringify({ ...json, weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: quantSpecs }] }),
      );
      assert.equal(expectedWeightBytes(quantSpecs), bytes.length);

      const loaded = await tf.loadLayersModel(fileLoadHandler(join(qdir, 'model.json')));
      const tolerance = mode === 'float16' ? 1e-3 : 0.01;
      loaded.getWeights().forEach((w, i) => {
        const got = w.dataSync();
        assert.equal(w.dtype, 'float32');
        const worst = Math.max(...Array.from(got, (v, k) => Math.abs(v - originalWeights[i][k])));
        assert.ok(worst < tolerance, `${mode} weight ${i}: max error ${worst}`);
      });
      // Dequantized, not raw codes: a uint8 code would be up to 255.
      assert.ok(loaded.getWeights().every((w) => Math.max(...w.dataSync()) < 10));
      loaded.dispose();
    }
    model.dispose();
  });
});

test('load errors name the problem and the file', async () => {
  await withTempDir(async (dir) => {
    await assert.rejects(fileLoadHandler(join(dir, 'nope', 'model.json')).load!(), /model file not found: .*nope\/model\.json/);
    await writeFile(join(dir, 'model.json'), '{"modelTopology": ');
    await assert.rejects(fileLoadHandler(join(dir, 'model.json')).load!(), /model\.json is not valid JSON/);
    await writeFile(join(dir, 'model.json'), '{"weightsManifest": []}');
    await assert.rejects(fileLoadHandler(join(dir, 'model.json')).load!(), /is not a tfjs model\.json \(no modelTopology\)/);

    const model = smallModel();
    await model.save(fileSaveHandler(dir, 300));
    model.dispose();
    const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
    const count = json.weightsManifest[0].paths.length;
    await truncate(join(dir, `group1-shard${count}of${count}.bin`), 10);
    await assert.rejects(
      fileLoadHandler(join(dir, 'model.json')).load!(),
      /the weight files hold \d+ bytes but the manifest describes \d+/,
    );
    await rm(join(dir, 'group1-shard1of' + count + '.bin'));
    await assert.rejects(fileLoadHandler(join(dir, 'model.json')).load!(), /weight file group1-shard1of\d+\.bin cannot be read \(ENOENT\)/);
    json.weightsManifest[0].paths[0] = '../../etc/passwd';
    await writeFile(join(dir, 'model.json'), JSON.stringify(json));
    await assert.rejects(
      fileLoadHandler(join(dir, 'model.json')).load!(),
      /weight path "\.\.\/\.\.\/etc\/passwd" must be relative to the model folder/,
    );
  });
});

test('saving into an unwritable place reports the folder', async () => {
  await withTempDir(async (dir) => {
    await writeFile(join(dir, 'file'), 'x');
    const model = smallModel();
    await assert.rejects(model.save(fileSaveHandler(join(dir, 'file', 'sub'))), /could not save the model to .*file\/sub/);
    model.dispose();
  });
});
