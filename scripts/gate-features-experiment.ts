// Research (issue 20): would the three-way gate tell phone photos from dermoscopic images better if it read
// pooled intermediate features beside the last ones? The gate today is a softmax on the 1280 pooled last-conv
// features; phone and dermoscopic pictures of the same lesion differ in texture, glare and light, which the
// earlier blocks see and the class-oriented last layer may have averaged away. For each feature set this fits
// the gate exactly as `dermlens fit-gate` does (same images, same parts, fitSoftmax, the 1% HAM10000
// validation threshold, the clinical threshold chosen on validation) and prints the held-out rates. Nothing
// is written; a MobileNetV2 run is needed (the block names are its own).
//
//   npx tsx scripts/gate-features-experiment.ts --run runs/r5-mix05 --ood ../ood-data --clinical ../shared/pad-ufes-20
import { parseArgs } from 'node:util';
import { tf } from '../core/tf.ts';
import { clinicalShare } from '../core/dermoscopy-gate.ts';
import { initBackend } from '../trainer/backends/select.ts';
import { readClinicalPhotos } from '../trainer/data/clinical-photos.ts';
import { readJsonFile } from '../trainer/run/json.ts';
import { runPaths } from '../trainer/run/layout.ts';
import type { TrainConfig } from '../trainer/run/config.ts';
import {
  chooseClinicalThreshold,
  features,
  fitSoftmax,
  GATE_VAL_FLAG_RATE,
  loadClassifierOnly,
  loadRunImages,
  readOodManifest,
  readPixels,
  softmaxScores,
  thresholdForFlagRate,
} from '../trainer/train/fit-gate.ts';

const { values } = parseArgs({
  options: {
    run: { type: 'string' },
    // Within the dermoscopic kind, HAM10000 and the other clinics' training images weigh half each.
    'balance-sources': { type: 'boolean', default: false },
    variants: { type: 'string', default: 'last,blocks' },
    ood: { type: 'string', default: '../ood-data' },
    clinical: { type: 'string', default: '../shared/pad-ufes-20' },
  },
});
if (!values.run) throw new Error('--run <dir> is required');
await initBackend('tensorflow');
const run = values.run;
const config = await readJsonFile<TrainConfig>(runPaths(run).config, run);
const { ds, idx } = await loadRunImages(config, run, undefined, console.log);
const size = config.size;
const per = size * size * 3;
const skipped: Array<{ file: string; reason: string }> = [];
const ood = await readPixels(values.ood!, await readOodManifest(values.ood!), size, skipped);
const clinical = await readPixels(values.clinical!, await readClinicalPhotos(values.clinical!), size, skipped);
const part = <T extends { image: { part: string } }>(rows: T[], p: string) => rows.filter((r) => r.image.part === p);
const loaded = await loadClassifierOnly(runPaths(run).best);
const m = loaded.model;
const pooled = (name: string) =>
  tf.layers.globalAveragePooling2d({}).apply(m.getLayer(name).output as tf.SymbolicTensor) as tf.SymbolicTensor;
const last = m.getLayer('global_pool').output as tf.SymbolicTensor;
const withBlocks = (names: string[]) =>
  tf.model({ inputs: m.inputs, outputs: tf.layers.concatenate().apply([...names.map(pooled), last]) as tf.SymbolicTensor });
const allVariants: Record<string, () => tf.LayersModel> = {
  last: () => tf.model({ inputs: m.inputs, outputs: last }),
  blocks: () => withBlocks(['block05_add', 'block09_add', 'block12_add']),
};
const variants = Object.fromEntries(values.variants!.split(',').map((v) => [v, allVariants[v]()]));
const groups = (n: number) => {
  const g = new Uint8Array(n);
  if (values['balance-sources']) idx.train.forEach((i, k) => (g[k] = (ds.items[i].dataset ?? 'ham10000') === 'ham10000' ? 0 : 1));
  return g;
};
const extIdx = (name: string) => idx.external.filter((i) => ds.items[i].dataset === name);
const pct = (rows: Float32Array[], hit: (p: Float32Array) => boolean) => ((100 * rows.filter(hit).length) / rows.length).toFixed(1);
for (const [name, featurizer] of Object.entries(variants)) {
  const dims = featurizer.outputs[0].shape[1]!;
  const ham = (ix: number[]) => features(featurizer, size, ix.length, (i) => ds.pixels.subarray(ix[i] * per, (ix[i] + 1) * per));
  const list = (rows: Array<{ pixels: Float32Array }>) => features(featurizer, size, rows.length, (i) => rows[i].pixels);
  const blocks = [await ham(idx.train), await list(part(clinical, 'train')), await list(part(ood, 'train'))];
  const x = new Float32Array(blocks.reduce((a, b) => a + b.length, 0));
  const labels = new Uint8Array(x.length / dims);
  let offset = 0;
  blocks.forEach((b, kind) => {
    x.set(b, offset);
    labels.fill(kind, offset / dims, (offset + b.length) / dims);
    offset += b.length;
  });
  for (const l2 of [1e-2]) {
    const { kernel, bias } = fitSoftmax(x, labels, dims, 3, { steps: 600, l2, groups: groups(labels.length) });
    const score = (f: Float32Array) => softmaxScores(f, dims, kernel, bias);
    const hamValThreshold = thresholdForFlagRate(
      score(await ham(idx.val)).map((p) => p[0]),
      GATE_VAL_FLAG_RATE,
    );
    // Threshold rule (b): also at most 3% of each external collection flagged (external used as validation).
    const extThresholds = await Promise.all(
      ['msk', 'ph2'].map(async (c) =>
        thresholdForFlagRate(
          score(await ham(extIdx(c))).map((p) => p[0]),
          0.03,
        ),
      ),
    );
    for (const [rule, t] of [
      ['HAM val 1%', hamValThreshold],
      ['HAM val 1% + external 3% each', Math.min(hamValThreshold, ...extThresholds)],
    ] as const) {
      const verdicts = (rows: Float32Array[]) => rows.map((p) => ({ flagged: p[0] < t, share: clinicalShare(p) }));
      const ct = chooseClinicalThreshold(verdicts(score(await list(part(clinical, 'val')))), verdicts(score(await list(part(ood, 'val')))));
      const flagged = (p: Float32Array) => p[0] < t;
      const held = score(await list(part(clinical, 'heldout')));
      console.log(
        `${name} (${dims} features, L2 ${l2}): held-out phone photos flagged ${pct(held, flagged)}%, named clinical ${pct(held, (p) => flagged(p) && clinicalShare(p) >= ct)}%; ` +
          `held-out non-skin flagged ${pct(score(await list(part(ood, 'heldout'))), flagged)}%; HAM10000 test flagged ${pct(score(await ham(idx.test)), flagged)}%; ` +
          `msk ${pct(score(await ham(extIdx('msk'))), flagged)}%; ph2 ${pct(score(await ham(extIdx('ph2'))), flagged)}%; ` +
          `[${rule}, t ${t.toFixed(4)}] validation: phone photos flagged ${pct(score(await list(part(clinical, 'val'))), flagged)}%, non-skin ${pct(score(await list(part(ood, 'val'))), flagged)}%`,
      );
    }
  }
}
loaded.dispose();
