// Train/validation/test split by lesion. HAM10000 has up to six photos of the same lesion; if they
// land on both sides the test score measures recall of a seen lesion, not generalisation. So whole
// lesions are dealt to one side, stratified by class so rare classes (df: 115 images) appear in all.
import { mkdir, readFile } from 'node:fs/promises';
import { writeJsonAtomic } from '../run/json.ts';
import { dirname } from 'node:path';
import { CLASS_CODES, NUM_CLASSES } from '../../core/labels.ts';
import type { LabelledImage } from './metadata.ts';
import { makeRng, shuffleInPlace } from './rng.ts';

export interface SplitOptions {
  seed: number;
  valFraction: number;
  testFraction: number;
}

/** Image ids per side. */
export interface Split {
  train: string[];
  val: string[];
  test: string[];
  /** With --extra-data: the external validation images (never trained on) and the ones left out of both (trainer/data/sources.ts). */
  external?: string[];
  excluded?: string[];
}

export const DEFAULT_SPLIT_OPTIONS: Readonly<SplitOptions> = Object.freeze({ seed: 42, valFraction: 0.15, testFraction: 0.15 });

export const SIDES = ['train', 'val', 'test'] as const;
export type Side = (typeof SIDES)[number];

/** Whether two splits put the same images, in the same order, on every side (not just the same counts). */
export const sameSides = (a: Split, b: Split): boolean => SIDES.every((side) => JSON.stringify(a[side]) === JSON.stringify(b[side]));

/** The sides nothing may train on: validation, test and (with --extra-data) external. Members of one ensemble share them. */
export const sameHeldOutSides = (a: Split, b: Split): boolean =>
  (['val', 'test', 'external'] as const).every((side) => JSON.stringify(a[side] ?? []) === JSON.stringify(b[side] ?? []));

interface Lesion {
  id: string;
  label: number;
  imageIds: string[];
}

function validateOptions({ seed, valFraction, testFraction }: SplitOptions): void {
  if (!Number.isFinite(seed)) throw new Error(`split seed must be a number, got ${seed}`);
  for (const [name, f] of [
    ['valFraction', valFraction],
    ['testFraction', testFraction],
  ] as const) {
    if (!Number.isFinite(f) || f < 0 || f >= 1) throw new Error(`split ${name} must be in [0, 1), got ${f}`);
  }
  if (valFraction + testFraction >= 1) {
    throw new Error(`split valFraction + testFraction must be below 1 (nothing left to train on), got ${valFraction + testFraction}`);
  }
}

/** Groups images by lesion; a lesion's class is the most common label of its images (ties: lowest class index). */
function groupLesions(items: readonly LabelledImage[]): Lesion[] {
  const byLesion = new Map<string, { imageIds: string[]; votes: number[] }>();
  const seenImages = new Set<string>();
  for (const item of items) {
    if (seenImages.has(item.imageId)) throw new Error(`splitByLesion: image ${item.imageId} is listed twice`);
    seenImages.add(item.imageId);
    if (!Number.isInteger(item.label) || item.label < 0 || item.label >= NUM_CLASSES) {
      throw new Error(`splitByLesion: image ${item.imageId} has label ${item.label}, expected 0..${NUM_CLASSES - 1}`);
    }
    let lesion = byLesion.get(item.lesionId);
    if (!lesion) byLesion.set(item.lesionId, (lesion = { imageIds: [], votes: new Array(NUM_CLASSES).fill(0) }));
    lesion.imageIds.push(item.imageId);
    lesion.votes[item.label]++;
  }
  // Sorted so the result depends only on the set of items, not their order in the input.
  return [...byLesion.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([id, { imageIds, votes }]) => ({ id, label: votes.indexOf(Math.max(...votes)), imageIds: imageIds.sort() }));
}

/**
 * Splits image ids into train/val/test with every lesion entirely on one side, stratified by class.
 * Per class, lesions are shuffled with the seed, then dealt largest first (ties in shuffled order),
 * each to the side furthest below its target image count (relative to the target), which lands every
 * side within one lesion's worth of images of its target and spreads multi-image lesions evenly. Deterministic for a seed and independent of input order.
 */
export function splitByLesion(items: readonly LabelledImage[], opts: SplitOptions): Split {
  validateOptions(opts);
  const rng = makeRng(opts.seed);
  const lesions = groupLesions(items);
  const split: Split = { train: [], val: [], test: [] };
  for (let label = 0; label < NUM_CLASSES; label++) {
    const classLesions = shuffleInPlace(
      lesions.filter((l) => l.label === label),
      rng,
    );
    // Stable sort keeps the shuffled order among lesions of the same size.
    classLesions.sort((a, b) => b.imageIds.length - a.imageIds.length);
    const total = classLesions.reduce((n, l) => n + l.imageIds.length, 0);
    const val = Math.round(total * opts.valFraction);
    const test = Math.round(total * opts.testFraction);
    const target: Record<Side, number> = { train: total - val - test, val, test };
    const count: Record<Side, number> = { train: 0, val: 0, test: 0 };
    // Relative deficit, so big lesions (dealt first) spread over the sides in proportion instead of
    // all filling train, whose absolute deficit is largest at the start.
    const need = (side: Side) => (target[side] > 0 ? (target[side] - count[side]) / target[side] : -Infinity);
    for (const lesion of classLesions) {
      // Side furthest below its target; ties go to the earlier side in SIDES order.
      let best: Side = SIDES[0];
      for (const side of SIDES) if (need(side) > need(best)) best = side;
      split[best].push(...lesion.imageIds);
      count[best] += lesion.imageIds.length;
    }
  }
  return split;
}

/** Image count per class (indexed like CLASS_CODES) for each side. */
export type SplitCounts = Record<Side, Record<string, number>>;

export function countSplit(split: Split, items: readonly LabelledImage[]): SplitCounts {
  const labelOf = new Map(items.map((i) => [i.imageId, i.label]));
  const counts = {} as SplitCounts;
  for (const side of SIDES) {
    const perClass: Record<string, number> = Object.fromEntries(CLASS_CODES.map((c) => [c, 0]));
    for (const id of split[side]) {
      const label = labelOf.get(id);
      if (label === undefined) throw new Error(`countSplit: image ${id} of the ${side} side is not among the labelled images`);
      perClass[CLASS_CODES[label]]++;
    }
    counts[side] = perClass;
  }
  return counts;
}

export interface SplitMeta extends SplitOptions {
  /** The labelled images the split was made from: used to write the per-class counts, not stored. */
  items: readonly LabelledImage[];
  /** Where the labels came from (e.g. the metadata file name), for the record. */
  source?: string;
}

/** The JSON written by saveSplit. */
export interface SavedSplit extends Split, SplitOptions {
  version: 1;
  source?: string;
  createdAt: string;
  counts: SplitCounts;
}

/** Writes the split as JSON (seed, fractions, per-class counts per side, image ids), atomically. */
export async function saveSplit(path: string, split: Split, meta: SplitMeta): Promise<SavedSplit> {
  validateOptions(meta);
  const saved: SavedSplit = {
    version: 1,
    seed: meta.seed,
    valFraction: meta.valFraction,
    testFraction: meta.testFraction,
    ...(meta.source !== undefined ? { source: meta.source } : {}),
    createdAt: new Date().toISOString(),
    counts: countSplit(split, meta.items),
    train: split.train,
    val: split.val,
    test: split.test,
    ...(split.external ? { external: split.external } : {}),
    ...(split.excluded ? { excluded: split.excluded } : {}),
  };
  await mkdir(dirname(path), { recursive: true });
  await writeJsonAtomic(path, saved);
  return saved;
}

/** Reads a split written by saveSplit, checking its shape (and that no image is on two sides). */
export async function loadSplit(path: string): Promise<SavedSplit> {
  let data: unknown;
  try {
    data = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `split file not found: ${path}` : `cannot read split file ${path}: ${(err as Error).message}`);
  }
  const bad = (what: string): never => {
    throw new Error(`split file ${path} is invalid: ${what}`);
  };
  if (typeof data !== 'object' || data === null) bad('not a JSON object');
  const s = data as Partial<SavedSplit>;
  if (s.version !== 1) bad(`unsupported version ${JSON.stringify(s.version)} (expected 1)`);
  for (const key of ['seed', 'valFraction', 'testFraction'] as const) {
    if (typeof s[key] !== 'number') bad(`${key} must be a number`);
  }
  const owner = new Map<string, string>();
  for (const side of [...SIDES, 'external', 'excluded'] as const) {
    const ids = s[side];
    if (ids === undefined && (side === 'external' || side === 'excluded')) continue;
    if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string')) bad(`${side} must be an array of image ids`);
    for (const id of ids as string[]) {
      const other = owner.get(id);
      if (other) bad(`image ${id} is on both the ${other} and the ${side} side`);
      owner.set(id, side);
    }
  }
  if (typeof s.counts !== 'object' || s.counts === null) bad('counts missing');
  return s as SavedSplit;
}

/**
 * Positions in `items` (e.g. a Dataset's loaded items) of each side's images. Images of the split
 * that are not in `items` (skipped as missing or corrupt) are left out and counted in `missing`.
 */
export function splitIndices(
  items: readonly LabelledImage[],
  split: Split,
): Record<Side | 'external', number[]> & { missing: Record<Side | 'external', number> } {
  const position = new Map(items.map((item, i) => [item.imageId, i]));
  const result = {
    train: [] as number[],
    val: [] as number[],
    test: [] as number[],
    external: [] as number[],
    missing: { train: 0, val: 0, test: 0, external: 0 },
  };
  for (const side of [...SIDES, 'external'] as const) {
    for (const id of split[side] ?? []) {
      const i = position.get(id);
      if (i === undefined) result.missing[side]++;
      else result[side].push(i);
    }
  }
  return result;
}
