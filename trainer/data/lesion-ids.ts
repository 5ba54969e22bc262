// Lesion ids for a list of predicted images, so bootstrap intervals resample whole lesions.
import { readFile } from 'node:fs/promises';
import { parseHamMetadata } from './metadata.ts';

/**
 * The lesion id of each image in `imageIds`, from the metadata file a split was made from (split.json's
 * `source`). Undefined when that file is not on this machine or does not list every image: callers then
 * resample images one by one and must say that the interval is too narrow.
 */
export async function readLesionIds(metadataPath: string | undefined, imageIds: readonly string[]): Promise<string[] | undefined> {
  if (!metadataPath || imageIds.length === 0) return undefined;
  const lesionOf = await readFile(metadataPath, 'utf8')
    .then((text) => new Map(parseHamMetadata(text, metadataPath).map((item) => [item.imageId, item.lesionId])))
    .catch(() => null);
  return lesionOf && imageIds.every((id) => lesionOf.has(id)) ? imageIds.map((id) => lesionOf.get(id)!) : undefined;
}
