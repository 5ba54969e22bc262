// The data folders of one training run, read and checked before anything is written: the primary
// (HAM10000) folder and the --extra-data folders, the images each contributes, how the extra ones are
// dealt (train / external / left out), and the manifest of what was used (sources.json), with per-source
// counts per side and class, printed and saved in the run.
import { CLASS_CODES } from '../../core/labels.ts';
import { DEFAULT_EXTERNAL, type TrainConfig } from '../run/config.ts';
import { writeJsonAtomic } from '../run/json.ts';
import { runPaths } from '../run/layout.ts';
import type { Dataset } from './dataset.ts';
import type { LabelledImage } from './metadata.ts';
import {
  assignExtraSides,
  checkSourcesDistinct,
  hashSourcePictures,
  readExtraSource,
  readPrimarySource,
  type DataSource,
} from './sources.ts';
import type { Split } from './split.ts';

/** Where an image of a source went, in the manifest's order. */
const MANIFEST_SIDES = ['train', 'val', 'test', 'external', 'excluded', 'unused', 'unreadable'];

export interface RunSources {
  primary: DataSource;
  extras: DataSource[];
  /** Every image the run may use (primary, then each extra folder; squashed copies left out with --drop-squashed). */
  items: LabelledImage[];
  /** The images to load, per folder. */
  perFolder: Array<{ dir: string; items: LabelledImage[] }>;
  /** The external collections in effect (empty without extra folders). */
  external: string[];
  /** Deals the extra folders' images (null without extra folders). */
  extraSides(log: (line: string) => void): Promise<{ train: string[]; external: string[]; excluded: string[] } | null>;
  /** Writes sources.json and logs the per-source counts of the run's split. */
  writeManifest(outDir: string, split: Split, ds: Dataset): Promise<void>;
}

export async function readRunSources(
  config: Pick<TrainConfig, 'dataDir' | 'extraData' | 'external' | 'dropSquashed'>,
  log: (line: string) => void,
): Promise<RunSources> {
  const primary = await readPrimarySource(config.dataDir);
  const extras = await Promise.all((config.extraData ?? []).map((dir) => readExtraSource(dir)));
  checkSourcesDistinct([primary, ...extras]);
  // Each folder's images the run may use (squashed copies left out with --drop-squashed), filtered once.
  const keptItems = new Map(
    [primary, ...extras].map((s) => [s, config.dropSquashed ? s.items.filter((i) => !s.squashed.has(i.imageId)) : s.items]),
  );
  const kept = (s: DataSource) => keptItems.get(s)!;
  const collections = new Set(extras.flatMap((s) => s.items.map((i) => i.dataset).filter((d): d is string => d !== undefined)));
  // The default external collections where the folders have them (a clinical-photo folder alone has none).
  const external = extras.length ? (config.external ?? DEFAULT_EXTERNAL.filter((c) => collections.has(c))) : [];
  const unknown = external.filter((c) => !collections.has(c));
  if (extras.length && unknown.length) {
    throw new Error(
      `--external ${unknown.join(',')}: no such collection in ${extras.map((s) => s.labelFile).join(', ')} (its dataset column has: ${[...collections].sort().join(', ')})`,
    );
  }
  const perFolder = [primary, ...extras].map((s) => ({ dir: s.dir, items: kept(s) }));
  return {
    primary,
    extras,
    items: perFolder.flatMap((f) => f.items),
    perFolder,
    external,
    async extraSides(log) {
      if (!extras.length) return null;
      const sides = { train: [] as string[], external: [] as string[], excluded: [] as string[] };
      for (const source of extras) {
        const started = Date.now();
        const items = kept(source);
        const hashes = await hashSourcePictures({ ...source, items });
        const s = assignExtraSides(items, hashes, new Set(external), undefined, source.heldOut?.ids);
        const leftOut = source.heldOut ? `held out: ${source.heldOut.why}` : 'copies of external pictures';
        log(
          `${source.name}: ${s.train.length} train, ${s.external.length} external (${external.join(', ')}), ${s.excluded.length} left out (${leftOut}); ` +
            `${s.grouped.byLesion} joined by lesion id, ${s.grouped.byPicture} by near-duplicate picture (${((Date.now() - started) / 1000).toFixed(1)} s)`,
        );
        sides.train.push(...s.train);
        sides.external.push(...s.external);
        sides.excluded.push(...s.excluded);
      }
      return sides;
    },
    async writeManifest(outDir, split, ds) {
      const loaded = new Set(ds.items.map((i) => i.imageId));
      const side = new Map<string, string>();
      for (const name of ['train', 'val', 'test', 'external', 'excluded'] as const) for (const id of split[name] ?? []) side.set(id, name);
      const manifest = [primary, ...extras].map((source) => {
        const items = kept(source);
        const found: Record<string, Record<string, number>> = {};
        for (const item of items) {
          const where = loaded.has(item.imageId) ? (side.get(item.imageId) ?? 'unused') : 'unreadable';
          found[where] ??= Object.fromEntries(CLASS_CODES.map((c) => [c, 0]));
          found[where][CLASS_CODES[item.label]]++;
        }
        // A fixed order of sides, whatever the order of the rows.
        const counts = Object.fromEntries(MANIFEST_SIDES.filter((where) => found[where]).map((where) => [where, found[where]]));
        const byCollection: Record<string, number> = {};
        for (const item of items) {
          if (item.dataset === undefined) continue;
          const key = `${item.dataset}/${side.get(item.imageId) ?? 'unused'}`;
          byCollection[key] = (byCollection[key] ?? 0) + 1;
        }
        return {
          name: source.name,
          dir: source.dir,
          labelFile: source.labelFile,
          labelSha256: source.labelSha256,
          listed: source.items.length,
          droppedSquashed: source.items.length - items.length,
          counts,
          ...(Object.keys(byCollection).length ? { byCollection } : {}),
        };
      });
      await writeJsonAtomic(runPaths(outDir).sources, { external, sources: manifest });
      for (const m of manifest) {
        const line = Object.entries(m.counts)
          .map(([where, perClass]) => `${where} ${Object.values(perClass).reduce((a, b) => a + b, 0)}`)
          .join(', ');
        log(`source ${m.name}: ${line}${m.droppedSquashed ? `; ${m.droppedSquashed} squashed copies dropped` : ''}`);
      }
    },
  };
}
