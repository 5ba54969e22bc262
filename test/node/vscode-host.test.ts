// The VS Code extension host's classification path (vscode/src/host/) against the CLI's: the same
// answer for every good and hostile file of test/helpers/hostile-images.ts (identical pixels from the
// WebAssembly decoders and sharp, the same refusal messages), and probabilities identical to
// `dermlens classify --json --backend wasm` for the same files, through the same card pass as the browser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import net from 'node:net';
import dns from 'node:dns';
import { decodeImage, ImageDecodeError } from '../../trainer/data/images.ts';
import { wasmBinaryDir } from '../../trainer/backends/wasm/node-setup.ts';
import { decodeImageBytes } from '../../vscode/src/host/decode-image.ts';
import { classifyFile } from '../../vscode/src/host/classify-file.ts';
import { loadModel, ModelPathError, resolveModelJson } from '../../vscode/src/host/model-host.ts';
import { probabilitiesInClassOrder } from '../../extension/shared/result.ts';
import { CLASS_CODES } from '../../core/labels.ts';
import { hostileCases } from '../helpers/hostile-images.ts';

const MODEL_JSON = resolve('extension/model/model.json');

// First in the file: the wasm backend starts (once per process) inside it.
test('starting the wasm backend, loading the model and classifying open no connection, look up no name and fetch nothing', async (t) => {
  const attempts: string[] = [];
  t.mock.method(net.Socket.prototype, 'connect', function (this: net.Socket, ...args: unknown[]) {
    attempts.push(`connect ${JSON.stringify(args[0])}`);
    throw new Error('no network in this test');
  });
  t.mock.method(dns, 'lookup', (host: string) => {
    attempts.push(`dns ${host}`);
    throw new Error('no network in this test');
  });
  t.mock.method(globalThis, 'fetch', async (url: unknown) => {
    attempts.push(`fetch ${String(url)}`);
    throw new Error('no network in this test');
  });
  const dir = await mkdtemp(join(tmpdir(), 'dermlens-vscode-offline-'));
  try {
    const lesion = (await hostileCases()).find((c) => c.name === 'lesion.webp')!;
    await writeFile(join(dir, lesion.name), lesion.bytes);
    const model = await loadModel(MODEL_JSON, wasmBinaryDir());
    try {
      const result = await classifyFile(join(dir, lesion.name), model);
      assert.equal(result.predictions.length, CLASS_CODES.length);
    } finally {
      model.classifier.dispose();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  assert.deepEqual(attempts, []);
});

test('every good and hostile file: the extension host decodes the pixels sharp decodes, or refuses with the CLI message', async () => {
  for (const c of await hostileCases()) {
    const cli = await decodeImage(new Uint8Array(c.bytes)).catch((error: unknown) => error);
    let host: ReturnType<typeof decodeImageBytes> | Error;
    try {
      host = decodeImageBytes(new Uint8Array(c.bytes));
    } catch (error) {
      host = error as Error;
    }
    if (c.name.endsWith('.avif') && c.expect === 'accept') {
      assert.match((host as Error).message, /AVIF images are read by the dermlens CLI but not yet in VS Code/, c.name);
      continue;
    }
    if (cli instanceof ImageDecodeError) {
      assert.ok(host instanceof Error, `${c.name}: the CLI refuses it ("${cli.reason}"), the extension host decoded it`);
      assert.equal(host.message, cli.reason, c.name);
      continue;
    }
    assert.ok(!(host instanceof Error), `${c.name}: the CLI decodes it, the extension host refused it: ${(host as Error).message}`);
    const expected = cli as Awaited<ReturnType<typeof decodeImage>>;
    assert.deepEqual([host.width, host.height], [expected.width, expected.height], c.name);
    // A scan of random bytes only makes libjpeg warn, so both keep it, but what fills the broken blocks
    // depends on the libjpeg-turbo version (Chromium's differs too); every sound file is pixel-exact.
    if (c.name === 'scrambled.jpg') continue;
    assert.ok(Buffer.from(host.data).equals(Buffer.from(expected.data)), `${c.name}: pixels differ from sharp's`);
  }
});

test('a model setting that is not a model gets a message naming the path and the fix', async () => {
  await assert.rejects(resolveModelJson('/nowhere/model', 'dermlens.modelPath'), (error: Error) => {
    assert.ok(error instanceof ModelPathError);
    assert.match(error.message, /^The model \/nowhere\/model does not exist\. Set dermlens\.modelPath to a model folder/);
    return true;
  });
  await assert.rejects(
    resolveModelJson(resolve('core'), 'dermlens.modelPath'),
    /There is no model\.json in .*core\. Set dermlens\.modelPath/,
  );
  assert.equal(await resolveModelJson(resolve('extension/model'), 'dermlens.modelPath'), MODEL_JSON);
});

test('the extension host gives the probabilities dermlens classify --json gives, for the same files', { timeout: 240_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dermlens-vscode-host-'));
  try {
    const cases = (await hostileCases()).filter((c) => ['lesion.jpg', 'lesion.png', 'exif-rotated.jpg', 'lesion.gif'].includes(c.name));
    assert.equal(cases.length, 4);
    const files = cases.map((c) => join(dir, c.name));
    for (const [i, c] of cases.entries()) await writeFile(files[i], c.bytes);
    const run = spawnSync(process.execPath, ['bin/dermlens.js', 'classify', '--json', '--backend', 'wasm', ...files], {
      encoding: 'utf8',
      timeout: 200_000,
    });
    assert.equal(run.status, 0, run.stderr);
    const lines = run.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { file: string; predictions: { code: string; probability: number }[]; dermoscopic: boolean | null });
    assert.equal(lines.length, files.length);

    const model = await loadModel(MODEL_JSON, wasmBinaryDir());
    try {
      for (const [i, file] of files.entries()) {
        const result = await classifyFile(file, model);
        const cli = CLASS_CODES.map((code) => lines[i].predictions.find((p) => p.code === code)!.probability);
        assert.deepEqual(probabilitiesInClassOrder(result), cli, `${file}: probabilities differ from the CLI's`);
        assert.equal(result.dermoscopy?.dermoscopic ?? null, lines[i].dermoscopic, file);
        assert.ok(result.heatmap, `${file}: the card's "where it looked" map is there`);
      }
    } finally {
      model.classifier.dispose();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
