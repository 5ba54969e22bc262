// The workspace the VS Code tests open: generated pictures only (HAM10000 may not be copied), and the
// CLI's own answer for each (`dermlens classify --json --backend wasm`), which the webviews must match.
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClassifyRecord } from '../../core/classify-record.ts';
import type { RgbaImage } from '../../core/preprocess.ts';
import { encodeJpeg, encodePng } from '../e2e/fixtures/images.ts';
import { generateLesion } from '../e2e/fixtures/lesion-image.ts';

/** A landscape (sky over grass): as far from a dermoscopic image as a photo gets. */
export function landscape(width: number, height: number): RgbaImage {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const sky = y < height * 0.6;
      const t = y / height;
      const px = [sky ? 90 + 80 * t : 40 + ((x * 7) % 30), sky ? 150 + 60 * t : 140 + ((x * y) % 40), sky ? 235 : 50, 255];
      data.set(px, (y * width + x) * 4);
    }
  return { data, width, height };
}

export const SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>';

/** Workspace files: relative path -> bytes. */
export async function workspaceFiles(): Promise<Record<string, Uint8Array | string>> {
  return {
    'lesion.jpg': await encodeJpeg(generateLesion({ width: 320, height: 240, seed: 3 })),
    'landscape.png': await encodePng(landscape(320, 240)),
    'drawing.svg': SVG,
    'batch/a-lesion.jpg': await encodeJpeg(generateLesion({ width: 200, height: 150, seed: 7 })),
    'batch/b-lesion.png': await encodePng(generateLesion({ width: 240, height: 180, seed: 11 })),
    'batch/c-landscape.jpg': await encodeJpeg(landscape(200, 150)),
    'batch/d-drawing.svg': SVG,
  };
}

/** The CLI's classify --json record for each file, keyed by the relative path. */
export async function cliRecords(files: Record<string, Uint8Array | string>): Promise<Record<string, ClassifyRecord>> {
  const dir = await mkdtemp(join(tmpdir(), 'dermlens-vscode-cli-'));
  try {
    const names = Object.keys(files);
    for (const name of names) {
      await mkdir(join(dir, name, '..'), { recursive: true });
      await writeFile(join(dir, name), files[name]);
    }
    // Run from inside the folder so each record's "file" is the relative path, as in the folder export.
    const cli = join(process.cwd(), 'bin/dermlens.js');
    const model = join(process.cwd(), 'extension/model');
    const inDir = spawnSync(process.execPath, [cli, 'classify', '--json', '--backend', 'wasm', '--model', model, ...names], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 180_000,
    });
    const lines = inDir.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as ClassifyRecord);
    if (lines.length !== names.length)
      throw new Error(`dermlens classify gave ${lines.length} lines for ${names.length} files: ${inDir.stderr}`);
    return Object.fromEntries(lines.map((l) => [l.file, l]));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
