// MODEL_CARD.md, the card for people: the same figures as model-card.json, one function per section in
// the order they appear. The external (card-external.ts) and gate (gate-card.ts) sections are their own
// modules'.
import { CLASSES, CLASS_CODES } from '../../core/labels.ts';
import type { Metrics } from '../../core/metrics.ts';
import { cardInputLabel } from '../../core/model-card.ts';
import { externalMarkdown } from './card-external.ts';
import { num, pct } from './card-format.ts';
import type { CardJson } from './card-json.ts';
import { outOfScopeSection, phoneAndClinicalSection } from './gate-card.ts';
import type { Shipment } from './shipment.ts';
import type { Target } from './targets.ts';

export function cardMarkdown(s: Shipment, card: CardJson, targets: Target[]): string {
  const { gate, clinicalTraining, externalCard } = s;
  return [
    introduction(card),
    modelSection(s, card),
    dataSection(s, card),
    resultsSection(s, targets),
    externalCard ? externalMarkdown(externalCard.json, externalCard.sources, externalCard.previous) : '',
    recipeSection(s, card),
    gate ? `${phoneAndClinicalSection(gate, clinicalTraining)}${outOfScopeSection(gate)}` : '',
    fieldOfViewSection(s),
    limitationsSection(s, card),
    reproduceSection(s, card),
  ].join('');
}

function introduction(card: CardJson): string {
  return `# Model card: ${card.name} (${card.version})

**Not a diagnosis. Not a medical device.** DermLens is for education and research. It has not been
clinically validated; a doctor, ideally a dermatologist with a dermatoscope, is the right person to
judge any skin lesion.

## Intended use
Classifying a **dermoscopic** image of a single pigmented skin lesion into the seven HAM10000
categories, on the user's own machine, to learn about and research automated lesion classification.
Out of scope: diagnosis or triage of real patients, phone or clinical (non-dermoscopic) photos,
non-skin images, lesions outside the seven classes.

`;
}

function modelSection(
  { config, training, parameters, weightBytes, weights, backbone, detail, op, test }: Shipment,
  card: CardJson,
): string {
  const { ensembleSize } = training;
  return `## Model
- ${
    ensembleSize
      ? `${ensembleSize} networks of architecture \`${config.arch}\` (core/models.ts), merged into one graph that averages their
  probabilities (trainer/model/merge.ts)`
      : `Architecture \`${config.arch}\` (core/models.ts)`
  }: ${parameters.toLocaleString('en')} parameters, ${(weightBytes / 1e6).toFixed(2)} MB of ${weights} weights
  (the original Keras CNN's are 17.2 MB of float32).${
    backbone
      ? `
- Backbone: MobileNetV2 1.0 pretrained on ImageNet, from \`${backbone.knownAs ?? 'an unrecognised file'}\` (${backbone.description ?? ''}),
  sha256 \`${backbone.sha256}\`, licence ${backbone.licence ?? 'unknown'} (google-coral/test_data). Converted by
  \`dermlens import-backbone\`; its BatchNorm is folded into the convolutions, so fine-tuning keeps the ImageNet normalisation
  statistics fixed (research/README.md, sixth round, says why and what was measured). The file itself is not redistributed; only the
  fine-tuned weights ship.`
      : ''
  }
- Input ${cardInputLabel(card)} RGB. Preprocessing \`${card.preprocessing.version}\`: ${card.preprocessing.description}
- Inference: ${detail.tta === 'flip' ? 'average of the image and its mirror image (test-time flip), ' : ''}softmax temperature ${detail.temperature.toFixed(3)}
  fitted on the validation split; the reported class is the arg-max.
${
  op
    ? `- **Melanoma operating point:** every result whose melanoma probability is at least ${op.melanomaThreshold.toFixed(3)} also shows a
  melanoma alert, even when another class is more likely. The threshold is the highest one that catches
  ${pct(op.targetValRecall)} of the validation melanomas (validation: recall ${pct(op.val.recall)}, precision ${pct(op.val.precision)}, ${pct(op.val.flagged)} of images flagged).
  On test: melanoma recall **${pct(op.test.recall)}**, precision **${pct(op.test.precision)}**, ${pct(op.test.flagged)} of images flagged
  (arg-max alone: recall ${pct(test.perClass.mel.recall)}, precision ${pct(test.perClass.mel.precision)}). Missing a melanoma costs far more than
  a false alarm, so the alert trades precision for recall.`
    : '- No melanoma alert threshold (no validation melanomas to choose one from).'
}

`;
}

function dataSection({ config, split, refit }: Shipment, card: CardJson): string {
  const splitSizes = card.split.sizes;
  return `## Data
HAM10000 (Tschandl, Rosendahl, Kittler, *Sci. Data* 5, 180161, 2018, doi:10.1038/sdata.2018.161),
10,015 dermoscopic images of 7,470 lesions from Harvard Dataverse doi:10.7910/DVN/DBW86T, licence
**CC BY-NC 4.0** (non-commercial; images are not redistributed with DermLens).
Split by \`lesion_id\` (every lesion wholly on one side), stratified by class, seed ${split.seed}:
train ${splitSizes.train}, validation ${splitSizes.val}, test ${splitSizes.test} images.
Every choice the trainer makes (epoch, ${config.tta ? 'test-time flip, ' : ''}temperature, melanoma threshold) and the choice
between runs were made on validation; test numbers chose nothing.${
    refit
      ? ` The shipped network is a **refit**: after run
${refit.name} was chosen on validation, its recipe was trained again on the training and validation images together
(${splitSizes.train + splitSizes.val} images) and its last epoch kept; the temperature, flip mode and melanoma threshold are ${refit.name}'s, and
so are the validation numbers below (the refit has none of its own).`
      : ''
  } research/README.md says each time
test numbers were read during development.${config.tta ? '' : ' Test-time flip averaging is off: it doubles the classify time.'}

`;
}

/** A row of the results table. */
const resultsRow = (label: string, m: Metrics) =>
  `| ${label} | ${num(m.balancedAccuracy)} | ${num(m.macroAuc)} | ${num(m.macroF1)} | ${num(m.accuracy)} | ${num(m.ece)} | ${pct(m.perClass.mel.recall)} | ${pct(m.perClass.mel.precision)} |`;

/** The results table and its subsections: targets, per class, confusion matrix, calibration. */
function resultsSection(s: Shipment, targets: Target[]): string {
  const { config, training, weights, detail, refit, previousModel, baseline, quantized, test, val, intervals } = s;
  const { ensembleSize } = training;
  return `## Results on the held-out test split (${test.n} images)

| model | balanced acc. | macro AUC | macro F1 | accuracy | ECE | melanoma recall | melanoma precision |
|---|---|---|---|---|---|---|---|
${resultsRow(`**shipped** ${ensembleSize ? `${ensembleSize} x ` : ''}\`${config.arch}\` ${config.size} px`, test)}
${
  previousModel
    ? `${resultsRow(`previously shipped: ${previousModel.name} (${previousModel.version})`, previousModel.test)}
`
    : ''
}${resultsRow(`seed baseline (original Keras recipe, ${baseline.inputSize} px, ${baseline.epochsTrained} epochs, best epoch ${baseline.bestEpoch})`, baseline.metrics.test)}

Validation split${refit ? ` (${refit.name}, the validated run the shipped network refits)` : ''}: shipped ${num(val.balancedAccuracy)} balanced accuracy, ${num(val.macroAuc)} macro AUC;
baseline ${num(baseline.metrics.val.balancedAccuracy)} and ${num(baseline.metrics.val.macroAuc)}.${
    quantized
      ? `
The shipped weights are the ${weights} copy; every test number here is that copy's own (the float32 network it was made from:
balanced accuracy ${num(detail.test.balancedAccuracy)}, macro AUC ${num(detail.test.macroAuc)}); validation numbers and every choice are the float32 network's.`
      : ''
  }
"Accuracy" alone is misleading here: always answering "nv" scores ${pct(test.perClass.nv.support / test.n)} on this split.

### Targets
| target | met | value |
|---|---|---|
${targets.map(([t, ok, v]) => `| ${t} | ${ok ? 'yes' : '**no**'} | ${v} |`).join('\n')}

Intervals: ${intervals.method}.

${perClassSubsection(s)}

### Confusion matrix (test; rows = truth)
${confusionMatrix(test).join('\n')}

### Calibration
Temperature ${detail.temperature.toFixed(3)} (fitted on validation by minimising the negative log-likelihood${refit ? `, by ${refit.name}` : ''}):
validation ECE ${num(detail.valEceUncalibrated)} before, ${num(val.ece)} after; test ECE ${num(test.ece)}.

`;
}

function perClassSubsection({ test, val, baseline, previousModel }: Shipment): string {
  const rows = CLASSES.map((c) => {
    const t = test.perClass[c.code];
    const v = val.perClass[c.code];
    const b = baseline.metrics.test.perClass[c.code];
    const p = previousModel?.test.perClass[c.code];
    return `| ${c.code} | ${c.name} | ${t.support} | ${pct(t.recall)} | ${pct(t.precision)} | ${num(t.f1)} | ${num(t.auc)} | ${pct(v.recall)} |${previousModel ? ` ${pct(p?.recall)} |` : ''} ${pct(b.recall)} |`;
  });
  return `### Per class (test; validation recall, ${previousModel ? "the previously shipped model's and " : ''}the baseline's test recall for comparison)
| code | class | support | recall | precision | F1 | AUC | val recall |${previousModel ? ' previous model recall |' : ''} baseline recall |
|---|---|---|---|---|---|---|---|${previousModel ? '---|' : ''}---|
${rows.join('\n')}`;
}

function confusionMatrix(test: Metrics): string[] {
  return [
    `| truth \\ predicted | ${CLASS_CODES.join(' | ')} |`,
    `|---|${CLASS_CODES.map(() => '---').join('|')}|`,
    ...test.confusion.map((r, i) => `| **${CLASS_CODES[i]}** | ${r.join(' | ')} |`),
  ];
}

function recipeSection(s: Shipment, card: CardJson): string {
  const { training, backbone, detail } = s;
  const { ensembleSize, recipe } = training;
  return `## Training recipe
${card.training}
Adam${recipe.weightDecay ? ` with decoupled weight decay ${recipe.weightDecay} (AdamW)` : ''}, learning rate ${recipe.lr}${backbone ? ` for the head and ${(recipe.lr as number) * (recipe.backboneLrScale as number)} for the backbone` : ''} (${recipe.lrSchedule}${recipe.warmupEpochs ? `, ${recipe.warmupEpochs} warm-up epochs` : ''}), batch ${recipe.batch}.
${card.epochsTrained} epochs${ensembleSize ? ' per network' : ''} trained on the \`${detail.backend}\` backend. What was tried before choosing this recipe, and what
each change bought on validation, is in research/README.md.
${candidatesSubsection(s)}
`;
}

/** Only when other runs were considered: the shipped run alone needs no table. */
function candidatesSubsection({ candidates, despite, bestCandidate, refit }: Shipment): string {
  if (candidates.length <= 1) return '';
  return `
### Runs considered for shipping (validation split only)
Full-length runs of this trainer on this split. ${
    despite
      ? `**The shipped run is not the one with the highest validation balanced accuracy (${bestCandidate.run} is)**: it was
shipped against that rule, for this reason: ${despite}`
      : 'The shipped one is the run with the highest validation\nbalanced accuracy; test numbers played no part in the choice.'
  }${
    refit
      ? ` A refit is listed with its reference's validation numbers and
ships in the reference's place; both were fixed before the refit's test numbers existed (research/README.md, fifth round).`
      : ''
  }

| run | arch | input | epochs (best) | balance | augment | weight EMA | test-time flip | val balanced acc. | val macro AUC | val ECE | val melanoma recall (arg-max) |
|---|---|---|---|---|---|---|---|---|---|---|---|
${candidates.map((c, i) => `| ${i === 0 ? `**${c.run}** (shipped)` : c.run}${'refitOf' in c ? ` (refit of ${c.refitOf}: its validation numbers)` : ''} | ${c.arch} | ${c.inputSize} px | ${c.epochs} (${c.bestEpoch ?? c.memberBestEpochs?.join('/')}) | ${c.balance} | ${c.augment} | ${c.ema || 'no'} | ${c.tta} | ${num(c.valBalancedAccuracy)} | ${num(c.valMacroAuc)} | ${num(c.valEce)} | ${pct(c.valMelanomaRecall)} |`).join('\n')}
`;
}

function fieldOfViewSection({ fieldOfView }: Shipment): string {
  if (!fieldOfView) return '';
  return `## Images with a round field of view
Most HAM10000 images fill the frame; many dermoscopic images from elsewhere show the dermoscope's round field of
view, black outside a circle. The test images scored as they are and with everything outside a centred circle
blacked out (\`npx tsx scripts/check-field-of-view.ts --model <shipped weights> --run <run> --side test\`; the
circle's diameter is given as a multiple of the 4:3 photo's height):

| test images (${fieldOfView.images}) | balanced accuracy | macro AUC | melanoma recall (arg-max) | flagged "not dermoscopic" |
|---|---|---|---|---|
${fieldOfView.rows.map((r) => `| ${r.fieldOfView} | ${num(r.balancedAccuracy)} | ${r.macroAuc === null ? '-' : num(r.macroAuc)} | ${pct(r.recall.mel)} | ${r.gateFlagged === null ? 'no gate' : pct(r.gateFlagged)} |`).join('\n')}

`;
}

function limitationsSection({ test }: Shipment, card: CardJson): string {
  return `## Known limitations
${card.limitations.map((l) => `- ${l}`).join('\n')}
- The test split has only ${test.perClass.df.support} dermatofibroma and ${test.perClass.vasc.support} vascular images: their per-class numbers carry wide uncertainty.
- Several HAM10000 images of one lesion make the data look bigger than it is; the lesion-grouped split keeps the test honest, but a different hospital's images may score lower.

`;
}

function reproduceSection({ trainCommand, commit }: Shipment, card: CardJson): string {
  return `## Reproduce
\`\`\`
npm run train:baseline    # the seed row: ${'`'}dermlens train --arch seed${'`'} with the original recipe, into runs/seed-baseline
npm run train:release     # this model: trains into runs/release, then ships it into extension/model/
\`\`\`
(${trainCommand}; both expect HAM10000 in ../shared/ham10000 or DERMLENS_DATA.)
Trainer commit ${commit}. Created ${card.created}.
`;
}
