// Puts the shipped model and its card into the out folder (extension/model/ by default).
import { copyFile, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeJsonAtomic } from '../run/json.ts';

/** Copies the model's files into outDir, replacing what was there (shards from an older model must not linger). */
export async function installModel(modelDir: string, outDir: string): Promise<void> {
  await mkdir(outDir, { recursive: true });
  for (const f of await readdir(outDir)) if (f === 'model.json' || f.endsWith('.bin')) await rm(join(outDir, f));
  for (const f of await readdir(modelDir)) await copyFile(join(modelDir, f), join(outDir, f));
}

/** model-card.json is written atomically: the extension and the next ship read it, and a half-written one would stop both. */
export async function writeCard(outDir: string, card: unknown, markdown: string): Promise<void> {
  await writeJsonAtomic(join(outDir, 'model-card.json'), card);
  await writeFile(join(outDir, 'MODEL_CARD.md'), markdown);
}
