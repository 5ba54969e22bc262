// The validation, test and external images of a saved split, for work on models that are already trained
// (an ensemble's evaluation, a report's recomputed predictions): the training images are not decoded.
import { readFile } from 'node:fs/promises';
import type { InputSize } from '../../core/preprocess.ts';
import { concatDatasets, loadDataset, type Dataset } from './dataset.ts';
import { findMetadataFile, parseHamMetadata, type LabelledImage } from './metadata.ts';
import { splitIndices, type Split } from './split.ts';

/**
 * `extraFolders`: the run's --extra-data folders with their listed images (RunSources.perFolder), where the
 * split's external images are (none without them). One load per folder, as training does.
 */
export async function loadHeldOut(
  dataDir: string,
  split: Split,
  size: InputSize,
  cacheDir?: string,
  extraFolders: ReadonlyArray<{ dir: string; items: readonly LabelledImage[] }> = [],
): Promise<{ ds: Dataset; idx: ReturnType<typeof splitIndices> }> {
  const metadataPath = await findMetadataFile(dataDir);
  const items = parseHamMetadata(await readFile(metadataPath, 'utf8'), metadataPath);
  const wanted = new Set([...split.val, ...split.test]);
  const parts = [await loadDataset({ images: items.filter((i) => wanted.has(i.imageId)), imageDir: dataDir, size, cacheDir })];
  const external = new Set(split.external ?? []);
  if (external.size) {
    for (const { dir, items: listed } of extraFolders) {
      const images = listed.filter((i) => external.has(i.imageId));
      if (images.length) parts.push(await loadDataset({ images, imageDir: dir, size, cacheDir }));
    }
  }
  const ds = parts.length === 1 ? parts[0] : concatDatasets(parts);
  const idx = splitIndices(ds.items, split);
  if (external.size && extraFolders.length && idx.external.length === 0)
    throw new Error(
      `none of the split's ${external.size} external images is in ${extraFolders.map((f) => f.dir).join(', ')} (moved or renamed?)`,
    );
  return { ds, idx };
}
