// `dermlens explain`: writes the image with its heatmap, and its probabilities are exactly those of
// `dermlens classify` for the same file and model (same network, preprocessing and calibration).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { main } from '../../trainer/cli/commands.ts';
import { encodePng } from '../e2e/fixtures/images.ts';
import { generateLesion } from '../e2e/fixtures/lesion-image.ts';

async function capture(argv: string[]): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...parts: unknown[]) => {
    lines.push(parts.join(' '));
  };
  try {
    return { code: await main(argv), lines };
  } finally {
    console.log = log;
  }
}

test('explain writes the heatmap image and reports the classify probabilities', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dermlens-explain-'));
  try {
    const image = join(dir, 'lesion.png');
    writeFileSync(image, await encodePng(generateLesion({ width: 300, height: 200, seed: 4 })));
    const out = join(dir, 'out', 'heat.png');
    const explained = await capture(['explain', image, '--out', out, '--json', '--backend', 'cpu']);
    assert.equal(explained.code, 0);
    const json = JSON.parse(explained.lines.at(-1)!);
    const classified = await capture(['classify', image, '--json', '--backend', 'cpu']);
    const expected = JSON.parse(classified.lines.find((l) => l.startsWith('{'))!) as {
      predictions: { code: string; probability: number }[];
    };
    for (const p of expected.predictions)
      assert.ok(
        Math.abs(json.probabilities[p.code] - p.probability) < 1e-6,
        `${p.code}: ${json.probabilities[p.code]} vs ${p.probability}`,
      );
    assert.equal(json.top, expected.predictions[0].code);
    assert.equal(json.map.values.length, json.map.width * json.map.height);
    assert.deepEqual(json.map.crop, { x: 16, y: 0, width: 267, height: 200 }, 'the 3:2 image is centre-cropped to 4:3');
    const meta = await sharp(out).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['png', 300, 200]);
    // Pixels outside the crop are the image's own; inside, the heatmap tints them somewhere.
    const [original, written] = await Promise.all([image, out].map((f) => sharp(f).removeAlpha().raw().toBuffer()));
    let tinted = 0;
    for (let i = 0; i < original.length; i += 3) if (Math.abs(original[i + 1] - written[i + 1]) > 20) tinted++;
    // How far the tint spreads is the model's (the shipped one's map is concentrated: ~4% of this image);
    // that it is drawn at all is the point here.
    assert.ok(tinted > 300 * 200 * 0.01, `only ${tinted} pixels tinted`);
    const edge = (x: number, y: number) => (y * 300 + x) * 3;
    assert.deepEqual(
      [...written.subarray(edge(5, 100), edge(5, 100) + 3)],
      [...original.subarray(edge(5, 100), edge(5, 100) + 3)],
      'left of the crop is untouched',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('explain refuses a missing --out with a clear message', async () => {
  const errors: string[] = [];
  const error = console.error;
  console.error = (...parts: unknown[]) => {
    errors.push(parts.join(' '));
  };
  try {
    assert.equal(await main(['explain', 'x.png']), 1);
  } finally {
    console.error = error;
  }
  assert.match(errors.join('\n'), /--out/);
});
