// How a model (and its dermoscopy gate) reads dermoscopic images that show the dermoscope's round field of
// view: a run's HAM10000 validation (or, once, test) images scored as they are and with everything outside
// a centred circle blacked out (trainer/train/field-of-view-check.ts: diameter 1.25, 1 and 0.85 times the
// height of the 4:3 photo). Most HAM10000 images fill the frame; many other dermoscopic images do not.
//
//   npx tsx scripts/check-field-of-view.ts --model runs/r4-fov/best-float16 --run runs/r4-fov [--side val|test]
//
// Writes <run>/field-of-view-<side>.json; `dermlens ship` puts the test one in the model card. Test images are
// for the final report only: score them once, for the model being shipped.
import { parseArgs } from 'node:util';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { load } from '../core/classifier.ts';
import { initBackend } from '../trainer/backends/select.ts';
import { loadDataset } from '../trainer/data/dataset.ts';
import { findMetadataFile, parseHamMetadata } from '../trainer/data/metadata.ts';
import { loadSplit, splitIndices } from '../trainer/data/split.ts';
import { readJsonFile, writeJsonAtomic } from '../trainer/run/json.ts';
import { runPaths } from '../trainer/run/layout.ts';
import { fileLoadHandler } from '../trainer/run/model-files.ts';
import { scoreFieldOfView, type FieldOfViewReport } from '../trainer/train/field-of-view-check.ts';
import type { TrainConfig } from '../trainer/run/config.ts';

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    run: { type: 'string' },
    side: { type: 'string', default: 'val' },
    'cache-dir': { type: 'string' },
  },
});
if (!values.model || !values.run || !['val', 'test'].includes(values.side!)) {
  console.error('Usage: npx tsx scripts/check-field-of-view.ts --model <model dir> --run <run dir> [--side val|test]');
  process.exit(2);
}
const side = values.side as 'val' | 'test';
await initBackend('auto', { log: null });
const config = await readJsonFile<TrainConfig>(runPaths(values.run).config, values.run);
const metadataPath = await findMetadataFile(config.dataDir);
const items = parseHamMetadata(await readFile(metadataPath, 'utf8'), metadataPath);
const split = await loadSplit(runPaths(values.run).split);
// Through the trainer's file handler: file:// URLs load only where tfjs-node is installed.
const classifier = await load(fileLoadHandler(resolve(join(values.model, 'model.json'))));
const size = classifier.inputShape;
const wanted = new Set(split[side]);
const ds = await loadDataset({
  images: items.filter((i) => wanted.has(i.imageId)),
  imageDir: config.dataDir,
  size,
  cacheDir: values['cache-dir'],
});
const indices = splitIndices(ds.items, split)[side];
const rows = await scoreFieldOfView(classifier, ds, indices);
classifier.dispose();

console.log(`${values.model} on ${indices.length} ${side} images of ${values.run}:`);
console.log('| field of view | balanced accuracy | macro AUC | recall akiec bcc bkl df mel nv vasc | flagged by the gate |');
console.log('|---|---|---|---|---|');
for (const r of rows) {
  const recalls = Object.values(r.recall)
    .map((v) => v.toFixed(2))
    .join(' ');
  const gate = r.gateFlagged === null ? 'no gate' : `${(100 * r.gateFlagged).toFixed(1)}%`;
  console.log(`| ${r.fieldOfView} | ${r.balancedAccuracy.toFixed(3)} | ${r.macroAuc?.toFixed(3) ?? '-'} | ${recalls} | ${gate} |`);
}
const out = runPaths(values.run).fieldOfView(side);
const report: FieldOfViewReport = { format: 'dermlens-field-of-view-v1', model: resolve(values.model), side, images: indices.length, rows };
await writeJsonAtomic(out, report);
console.log(`wrote ${out}`);
