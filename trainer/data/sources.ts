// Several data folders in one run. The first (--data) is HAM10000's layout and is split train/val/test
// by lesion exactly as before, so runs with and without extra folders are compared on the same images.
// Each extra folder (--extra-data) has a labels.csv (image_id, dx, optional lesion_id and dataset columns,
// read by the same validated reader) and its images below it. Its images are grouped into lesions: by
// lesion_id where the row has one, and by picture where two images are near-duplicates (picture-hash.ts);
// a group with an image of an --external collection (isic-extra: ph2, msk) is held out as the external
// validation set, never trained on; the other groups train. A copy of an external picture filed under
// another collection is left out of both (training on it would leak the external set; scoring it twice
// would count one picture twice).
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { CLASS_CODES, NUM_CLASSES } from '../../core/labels.ts';
import { exists } from '../run/json.ts';
import { findImages } from './images.ts';
import { findMetadataFile, parseHamMetadata, parseLabelsCsv, type LabelledImage } from './metadata.ts';
import { clinicalLabelledImages, parseClinicalPhotos, patientsCollection } from './clinical-photos.ts';
import { nearDuplicatePairs, NEAR_DUPLICATE_CORRELATION, pictureHash, type PictureHash } from './picture-hash.ts';

/** An extra folder's label file. */
export const LABELS_FILE = 'labels.csv';
/** isic-extra's list of ids whose only copy was squashed to a square (distorted); --drop-squashed leaves them out. */
export const SQUASHED_FILE = 'squashed_unknown_aspect.txt';

export interface DataSource {
  /** The folder's name in lower case ('ham10000', 'isic-extra'): what --source-rate and the reports call it. */
  name: string;
  dir: string;
  labelFile: string;
  labelSha256: string;
  items: LabelledImage[];
  /** Ids listed in SQUASHED_FILE (empty when the folder has none). */
  squashed: ReadonlySet<string>;
  /**
   * Ids that never train, with why (a clinical-photo folder's validation and held-out patients, kept for
   * scoring the run on patients it never saw); their near-duplicate groups are left out with them.
   */
  heldOut?: { ids: ReadonlySet<string>; why: string };
  /** 'clinical' for a folder of ordinary photos of skin (no dermatoscope): lesions to learn, but never "dermoscopic" to the gate. */
  imaging: 'dermoscopic' | 'clinical';
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** Reads the primary folder (HAM10000_metadata.csv, lesion ids required). */
export async function readPrimarySource(dir: string): Promise<DataSource> {
  const labelFile = await findMetadataFile(dir);
  const text = await readFile(labelFile, 'utf8');
  const name = basename(resolve(dir)).toLowerCase();
  return {
    name,
    dir,
    labelFile,
    labelSha256: sha256(text),
    items: parseHamMetadata(text, labelFile).map((i) => ({ ...i, source: name })),
    squashed: new Set(),
    imaging: 'dermoscopic',
  };
}

/**
 * Reads an extra folder: <dir>/labels.csv, and <dir>/squashed_unknown_aspect.txt when present; or a folder of
 * clinical photos in PAD-UFES-20's layout (metadata.csv with patient_id, img_id, diagnostic), whose training
 * patients train (clinical-photos.ts deals patients by a hash of their id) and the others are held out.
 */
export async function readExtraSource(dir: string): Promise<DataSource> {
  const labelFile = join(dir, LABELS_FILE);
  if (!(await exists(labelFile))) {
    if (await exists(join(dir, 'metadata.csv'))) return readClinicalSource(dir);
    throw new Error(
      `${labelFile} not found: an --extra-data folder needs a labels.csv with columns image_id,dx (and optionally lesion_id,dataset), its images below it, ` +
        `or a metadata.csv of clinical photos (patient_id, img_id, diagnostic: PAD-UFES-20's layout)`,
    );
  }
  const text = await readFile(labelFile, 'utf8');
  const name = basename(resolve(dir)).toLowerCase();
  const squashedPath = join(dir, SQUASHED_FILE);
  const squashed = (await exists(squashedPath))
    ? new Set(
        (await readFile(squashedPath, 'utf8'))
          .split(/\r?\n/)
          .map((l) => l.trim())
          .filter(Boolean),
      )
    : new Set<string>();
  return {
    name,
    dir,
    labelFile,
    labelSha256: sha256(text),
    items: parseLabelsCsv(text, labelFile).map((i) => ({ ...i, source: name })),
    squashed,
    imaging: 'dermoscopic',
  };
}

/** A clinical-photo folder as a data source: the photos with a DermLens class, grouped by patient. */
async function readClinicalSource(dir: string): Promise<DataSource> {
  const labelFile = join(dir, 'metadata.csv');
  const text = await readFile(labelFile, 'utf8');
  const name = basename(resolve(dir)).toLowerCase();
  const items = clinicalLabelledImages(await parseClinicalPhotos(text, labelFile, dir));
  const trainPart = patientsCollection('train');
  return {
    name,
    dir,
    labelFile,
    labelSha256: sha256(text),
    items: items.map((i) => ({ ...i, source: name })),
    squashed: new Set(),
    imaging: 'clinical',
    heldOut: {
      ids: new Set(items.filter((i) => i.dataset !== trainPart).map((i) => i.imageId)),
      why: 'the validation and held-out patients, dealt by a hash of patient_id as fit-gate deals them',
    },
  };
}

/** Refuses two folders with one name or one image id in two folders (ids key the cache, the split and the predictions). */
export function checkSourcesDistinct(sources: readonly DataSource[]): void {
  const names = new Map<string, string>();
  const ids = new Map<string, string>();
  for (const s of sources) {
    const other = names.get(s.name);
    if (other)
      throw new Error(
        `two data folders are both called "${s.name}" (${other} and ${s.dir}): rename one (the name identifies a source in --source-rate and the reports)`,
      );
    names.set(s.name, s.dir);
    for (const item of s.items) {
      const first = ids.get(item.imageId);
      if (first)
        throw new Error(`image ${item.imageId} is listed in both ${first} and ${s.labelFile}: an image may come from one data folder only`);
      ids.set(item.imageId, s.labelFile);
    }
  }
}

/** Union-find over positions. */
class Groups {
  private readonly parent: number[];
  constructor(n: number) {
    this.parent = Array.from({ length: n }, (_, i) => i);
  }
  find(i: number): number {
    while (this.parent[i] !== i) i = this.parent[i] = this.parent[this.parent[i]];
    return i;
  }
  union(a: number, b: number): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent[Math.max(ra, rb)] = Math.min(ra, rb);
  }
}

export interface ExtraSides {
  train: string[];
  external: string[];
  /** Copies of an external picture (or lesion) filed under another collection, and held-out images: in neither. */
  excluded: string[];
  /** How many groups joined two or more images, by lesion id and by picture. */
  grouped: { byLesion: number; byPicture: number };
}

/**
 * Deals an extra folder's images to train or external by whole groups (lesion id, near-duplicate picture).
 * `hashes[i]` is items[i]'s picture hash. Deterministic: the result depends on the items and hashes only.
 */
export function assignExtraSides(
  items: readonly LabelledImage[],
  hashes: ReadonlyArray<PictureHash | null>,
  externalCollections: ReadonlySet<string>,
  minCorrelation = NEAR_DUPLICATE_CORRELATION,
  heldOut: ReadonlySet<string> = new Set(),
): ExtraSides {
  if (hashes.length !== items.length) throw new Error(`assignExtraSides: ${hashes.length} hashes for ${items.length} images`);
  const groups = new Groups(items.length);
  const firstOfLesion = new Map<string, number>();
  let byLesion = 0;
  items.forEach((item, i) => {
    if (item.lesionId === item.imageId) return;
    const first = firstOfLesion.get(item.lesionId);
    if (first === undefined) firstOfLesion.set(item.lesionId, i);
    else if (groups.find(first) !== groups.find(i)) {
      groups.union(first, i);
      byLesion++;
    }
  });
  let byPicture = 0;
  for (const [i, j] of nearDuplicatePairs(hashes, minCorrelation)) {
    if (groups.find(i) !== groups.find(j)) {
      groups.union(i, j);
      byPicture++;
    }
  }
  // Groups that may not train: those with an external image, or with a held-out one.
  const externalGroups = new Set<number>();
  items.forEach((item, i) => {
    if ((item.dataset !== undefined && externalCollections.has(item.dataset)) || heldOut.has(item.imageId))
      externalGroups.add(groups.find(i));
  });
  const sides: ExtraSides = { train: [], external: [], excluded: [], grouped: { byLesion, byPicture } };
  items.forEach((item, i) => {
    const isExternal = item.dataset !== undefined && externalCollections.has(item.dataset);
    if (isExternal) sides.external.push(item.imageId);
    else if (externalGroups.has(groups.find(i))) sides.excluded.push(item.imageId);
    else sides.train.push(item.imageId);
  });
  return sides;
}

/** Picture hashes of a folder's images, in items' order; null for a missing or unreadable file (the loader lists those later). */
export async function hashSourcePictures(source: DataSource, concurrency = 4): Promise<Array<PictureHash | null>> {
  const paths = await findImages(source.dir);
  const hashes: Array<PictureHash | null> = new Array(source.items.length).fill(null);
  let next = 0;
  const worker = async () => {
    while (next < source.items.length) {
      const i = next++;
      const path = paths.get(source.items[i].imageId);
      if (path) hashes[i] = await pictureHash(path).catch(() => null);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return hashes;
}

/** Image count per class code. */
export function classCountsOf(items: readonly LabelledImage[]): Record<string, number> {
  const counts = new Array<number>(NUM_CLASSES).fill(0);
  for (const item of items) counts[item.label]++;
  return Object.fromEntries(CLASS_CODES.map((c, k) => [c, counts[k]]));
}
