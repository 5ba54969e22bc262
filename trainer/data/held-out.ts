// The validation and test images of a saved split, for work on models that are already trained
// (an ensemble's evaluation, a report's recomputed predictions): the training images are not decoded.
import { readFile } from 'node:fs/promises';
import { loadDataset, type Dataset } from './dataset.ts';
import { findMetadataFile, parseHamMetadata } from './metadata.ts';
import { splitIndices, type Split } from './split.ts';

export async function loadHeldOut(
  dataDir: string,
  split: Split,
  size: number,
  cacheDir?: string,
): Promise<{ ds: Dataset; idx: ReturnType<typeof splitIndices> }> {
  const metadataPath = await findMetadataFile(dataDir);
  const items = parseHamMetadata(await readFile(metadataPath, 'utf8'), metadataPath);
  const wanted = new Set([...split.val, ...split.test]);
  const ds = await loadDataset({ images: items.filter((i) => wanted.has(i.imageId)), imageDir: dataDir, size, cacheDir });
  return { ds, idx: splitIndices(ds.items, split) };
}
