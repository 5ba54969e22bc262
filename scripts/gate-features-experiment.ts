// Research (issue 20): does the three-way gate tell phone photos from dermoscopic images better if it reads
// pooled intermediate features beside the last ones? Phone and dermoscopic pictures of the same lesion differ in
// texture, glare and light, which the earlier blocks see and the class-oriented last layer may average away.
// Variants: 'last' (the 1280 pooled last-conv features, the gate before the eleventh round) and 'blocks' (the
// gate as built: core/dermoscopy-gate.ts featureModel, blocks 5, 9, 12 beside the last pool). For each this fits
// the gate exactly as `dermlens fit-gate` does (same images, same parts, fitSoftmax, the 1% HAM10000
// validation threshold, the clinical threshold chosen on validation) and prints the held-out rates. Nothing
// is written; a MobileNetV2 run is needed (the block names are its own).
//
//   npx tsx scripts/gate-features-experiment.ts --run runs/r5-mix05 --ood ../ood-data --clinical ../shared/pad-ufes-20 \
//     [--variants last,blocks] [--l2 1e-3,1e-2] [--balance-sources]
import { inputShape } from '../core/preprocess.ts';
import { parseArgs } from 'node:util';
import { tf } from '../core/tf.ts';
import { clinicalShare, featureModel, pooledFeaturesLayer } from '../core/dermoscopy-gate.ts';
import { initBackend } from '../trainer/backends/select.ts';
import { readClinicalPhotos } from '../trainer/data/clinical-photos.ts';
import { readJsonFile } from '../trainer/run/json.ts';
import { runPaths } from '../trainer/run/layout.ts';
import { loadClassifierOnly } from '../trainer/run/model-files.ts';
import type { TrainConfig } from '../trainer/run/config.ts';
import {
  chooseClinicalThreshold,
  features,
  fitSoftmax,
  GATE_VAL_FLAG_RATE,
  loadRunImages,
  readOodManifest,
  readPixels,
  softmaxScores,
  stackExamples,
  thresholdForFlagRate,
} from '../trainer/train/fit-gate.ts';

const { values } = parseArgs({
  options: {
    run: { type: 'string' },
    // Within the dermoscopic kind, HAM10000 and the other clinics' training images weigh half each.
    'balance-sources': { type: 'boolean', default: false },
    variants: { type: 'string', default: 'last,blocks' },
    l2: { type: 'string', default: '1e-3,1e-2' },
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
const shape = inputShape(size);
const per = shape.height * shape.width * 3;
const skipped: Array<{ file: string; reason: string }> = [];
const ood = await readPixels(values.ood!, await readOodManifest(values.ood!), size, skipped);
const clinical = await readPixels(values.clinical!, await readClinicalPhotos(values.clinical!), size, skipped);
const part = <T extends { image: { part: string } }>(rows: T[], p: string) => rows.filter((r) => r.image.part === p);
const loaded = await loadClassifierOnly(runPaths(run).best);
const m = loaded.model;
// 'blocks' is the gate as built (core/dermoscopy-gate.ts featureModel); 'last' the last pool alone, as before it.
const allVariants: Record<string, () => tf.LayersModel> = {
  last: () => tf.model({ inputs: m.inputs, outputs: pooledFeaturesLayer(m).output as tf.SymbolicTensor }),
  blocks: () => featureModel(m),
};
const variants = values.variants!.split(',').map((v) => {
  if (!allVariants[v]) throw new Error(`--variants: unknown "${v}" (${Object.keys(allVariants).join(', ')})`);
  return [v, allVariants[v]()] as const;
});
const l2s = values.l2!.split(',').map(Number);
const groups = (n: number) => {
  const g = new Uint8Array(n);
  if (values['balance-sources']) idx.train.forEach((i, k) => (g[k] = (ds.items[i].dataset ?? 'ham10000') === 'ham10000' ? 0 : 1));
  return g;
};
const extIdx = (name: string) => idx.external.filter((i) => ds.items[i].dataset === name);
const pct = (rows: Float32Array[], hit: (p: Float32Array) => boolean) => ((100 * rows.filter(hit).length) / rows.length).toFixed(1);
for (const [name, featurizer] of variants) {
  const dims = featurizer.outputs[0].shape[1]!;
  const ham = (ix: number[]) => features(featurizer, size, ix.length, (i) => ds.pixels.subarray(ix[i] * per, (ix[i] + 1) * per));
  const list = (rows: Array<{ pixels: Float32Array }>) => features(featurizer, size, rows.length, (i) => rows[i].pixels);
  // Every set's features once per variant; each L2 and threshold rule scores them.
  const f = {
    hamVal: await ham(idx.val),
    hamTest: await ham(idx.test),
    msk: await ham(extIdx('msk')),
    ph2: await ham(extIdx('ph2')),
    clinicalVal: await list(part(clinical, 'val')),
    clinicalHeld: await list(part(clinical, 'heldout')),
    oodVal: await list(part(ood, 'val')),
    oodHeld: await list(part(ood, 'heldout')),
  };
  const { x, labels } = stackExamples(
    [
      [await ham(idx.train), 0],
      [await list(part(clinical, 'train')), 1],
      [await list(part(ood, 'train')), 2],
    ],
    dims,
  );
  for (const l2 of l2s) {
    const { kernel, bias } = fitSoftmax(x, labels, dims, 3, { steps: 600, l2, groups: groups(labels.length) });
    const s = Object.fromEntries(Object.entries(f).map(([k, v]) => [k, softmaxScores(v, dims, kernel, bias)])) as Record<
      keyof typeof f,
      Float32Array[]
    >;
    const dermoscopy = (rows: Float32Array[]) => rows.map((p) => p[0]);
    const hamValThreshold = thresholdForFlagRate(dermoscopy(s.hamVal), GATE_VAL_FLAG_RATE);
    // Threshold rule (b): also at most 3% of each external collection flagged (external used as validation).
    const externalThreshold = Math.min(hamValThreshold, ...[s.msk, s.ph2].map((rows) => thresholdForFlagRate(dermoscopy(rows), 0.03)));
    for (const [rule, t] of [
      ['HAM val 1%', hamValThreshold],
      ['HAM val 1% + external 3% each', externalThreshold],
    ] as const) {
      const verdicts = (rows: Float32Array[]) => rows.map((p) => ({ flagged: p[0] < t, share: clinicalShare(p) }));
      const ct = chooseClinicalThreshold(verdicts(s.clinicalVal), verdicts(s.oodVal));
      const flagged = (p: Float32Array) => p[0] < t;
      console.log(
        `${name} (${dims} features, L2 ${l2}): held-out phone photos flagged ${pct(s.clinicalHeld, flagged)}%, named clinical ${pct(s.clinicalHeld, (p) => flagged(p) && clinicalShare(p) >= ct)}%; ` +
          `held-out non-skin flagged ${pct(s.oodHeld, flagged)}%; HAM10000 test flagged ${pct(s.hamTest, flagged)}%; ` +
          `msk ${pct(s.msk, flagged)}%; ph2 ${pct(s.ph2, flagged)}%; ` +
          `[${rule}, t ${t.toFixed(4)}] validation: phone photos flagged ${pct(s.clinicalVal, flagged)}%, non-skin ${pct(s.oodVal, flagged)}%`,
      );
    }
  }
}
loaded.dispose();
