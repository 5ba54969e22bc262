// model-card.json: what the extension's "About the model" view and the next ship read. Every figure comes
// from the run's own files (gathered into a Shipment); nothing is typed in. The order of the keys below is
// their order in the file.
import { basename } from 'node:path';
import { inputShape, preprocessVersion, type InputSize } from '../../core/preprocess.ts';
import { storedInput } from '../../core/model-metadata.ts';
import type { SavedSplit } from '../data/split.ts';
import { metricsJson } from '../evaluate/evaluate-model.ts';
import { clinicalPhotoFigures, gateLimitation } from './gate-card.ts';
import type { Shipment } from './shipment.ts';
import type { SelectOn } from '../run/config.ts';

export type CardJson = ReturnType<typeof modelCardJson>;

/** Images per side of the split. */
const splitSizesOf = (split: SavedSplit) => {
  const sideTotal = (side: 'train' | 'val' | 'test') => Object.values(split.counts[side]).reduce((a, b) => a + b, 0);
  return { train: sideTotal('train'), val: sideTotal('val'), test: sideTotal('test') };
};

export function modelCardJson(s: Shipment) {
  const { runDir, weights, config, split, detail, training, refit, backbone, baseline, previousModel, externalCard } = s;
  const { candidates, bestCandidate, despite, provenance, commit, parameters, weightBytes, test, val, op, intervals } = s;
  const { trainCommand, latency, gate, fieldOfView } = s;
  const { ensembleSize } = training;
  const splitSizes = splitSizesOf(split);
  const epochs = training.histories[0];
  const created = new Date().toISOString().slice(0, 10);
  // Shown with every result, so it names the run: two models shipped on one day must not read the same.
  const version = `${ensembleSize ? `${ensembleSize}x` : ''}${config.arch}-${config.size} ${basename(runDir)} ${created}`;
  return {
    name: ensembleSize ? `DermLens ensemble of ${ensembleSize} ${config.arch} CNNs` : `DermLens ${config.arch} CNN`,
    version,
    sourceRun: basename(runDir),
    weightsDtype: weights,
    untrained: false,
    created,
    arch: config.arch,
    ...storedInput(config.size),
    parameters,
    weightBytes,
    latency,
    backbone,
    training: trainingSentence(s, splitSizes),
    evaluation: { split: `held-out test split (whole lesions, never used for any choice), ${test.n} images`, ...metricsJson(test) },
    metrics: { val: metricsJson(val), test: metricsJson(test) },
    ...(refit
      ? {
          valMetricsFrom: `${refit.name}: the shipped network is its refit on training + validation images, so it has no validation numbers of its own`,
        }
      : {}),
    baseline,
    previousModel,
    calibration: { temperature: detail.temperature, valEceBefore: detail.valEceUncalibrated, valEceAfter: val.ece, testEce: test.ece },
    inference: {
      tta: detail.tta,
      temperature: detail.temperature,
      topClass: 'arg-max of the calibrated probabilities',
      melanomaThreshold: op?.melanomaThreshold ?? null,
    },
    melanomaOperatingPoint: op,
    dermoscopyGate: gate
      ? {
          method: gate.method,
          threshold: gate.threshold,
          ...(gate.format === 'dermlens-gate-v2'
            ? { kinds: gate.kinds, clinicalThreshold: gate.clinicalThreshold, clinicalSet: gate.clinicalSet }
            : {}),
          targetValFlagRate: gate.targetValFlagRate,
          training: gate.training,
          val: gate.val,
          test: gate.test,
        }
      : null,
    clinicalPhotos: clinicalPhotoFigures(gate),
    ...(fieldOfView ? { fieldOfViewCheck: { side: 'test', images: fieldOfView.images, rows: fieldOfView.rows } } : {}),
    ...(externalCard
      ? {
          externalValidation: externalCard.json,
          ...(externalCard.previous?.external
            ? { previousExternalValidation: { name: externalCard.previous.name, ...externalCard.previous.external } }
            : {}),
          ...(externalCard.sources ? { dataSources: externalCard.sources } : {}),
        }
      : {}),
    testIntervals: intervals,
    split: {
      seed: split.seed,
      valFraction: split.valFraction,
      testFraction: split.testFraction,
      sizes: splitSizes,
      perClass: split.counts,
      groupedBy: 'lesion_id',
    },
    preprocessing: { version: preprocessVersion(config.size), description: preprocessingDescription(config.size) },
    recipe: recipeJson(s),
    trainCommand,
    candidates: {
      rule: `highest validation balanced accuracy; test numbers played no part${refit ? `. A refit carries its reference's validation numbers and ships in its place (research/README.md, fifth round)` : ''}`,
      runs: candidates,
      ...(despite ? { shippedDespite: { leader: bestCandidate.run, reason: despite } } : {}),
    },
    backend: detail.backend,
    epochsTrained: epochs.length,
    trainerCommit: commit,
    provenance,
    data: {
      name: 'HAM10000',
      licence: 'CC BY-NC 4.0',
      source: 'Harvard Dataverse doi:10.7910/DVN/DBW86T',
      citation:
        'Tschandl P., Rosendahl C., Kittler H. The HAM10000 dataset, a large collection of multi-source dermatoscopic images of common pigmented skin lesions. Sci. Data 5, 180161 (2018). doi:10.1038/sdata.2018.161',
    },
    limitations: [
      'Not a diagnosis and not a medical device: for education and research only. See a doctor about any skin lesion that worries you.',
      gateLimitation(gate),
      'HAM10000 comes from two centres (Vienna, Austria and Queensland, Australia) and mostly shows light skin; performance on darker skin types is unknown.',
      'Seven classes only: any other lesion is forced into one of them.',
    ],
  };
}

/** How a run chose its epoch (--select-on), in the card's words. */
const selectionCriterion = (selectOn: SelectOn | undefined) =>
  selectOn === 'val+external' ? 'the mean of HAM10000 validation and external balanced accuracy' : 'validation balanced accuracy';

/** The seeds an ensemble's members differ in (one seed for a single run). */
const seedsOf = (s: Shipment) => s.training.configs.map((c) => c.seed as number);

/** The card's one-paragraph account of the training (model-card.json "training", quoted by MODEL_CARD.md). */
function trainingSentence(s: Shipment, splitSizes: ReturnType<typeof splitSizesOf>): string {
  const { training, backbone, refit, split, externalCard } = s;
  const { ensembleSize, recipe } = training;
  const who = ensembleSize ? `${ensembleSize} networks, each trained` : 'Trained';
  const from = backbone
    ? `from the ImageNet-pretrained MobileNetV2 in ${backbone.knownAs ?? 'an unrecognised file'} (sha256 ${backbone.sha256.slice(0, 16)}..., ${backbone.licence ?? 'licence unknown'}; the new 7-class head trained alone for ${recipe.headEpochs} epochs, then ${recipe.freezeUntil ? `blocks ${recipe.freezeUntil} onwards` : 'the whole network'} fine-tuned with the backbone at ${recipe.backboneLrScale}x the head's learning rate, weight decay ${recipe.weightDecay})`
    : 'from scratch';
  const data = externalCard?.sources ? externalCard.sources.sources.map((src) => src.name).join(' + ') : 'HAM10000';
  const images = refit
    ? `${splitSizes.train + splitSizes.val} images: the training and validation sides`
    : `${splitSizes.train} training images`;
  const balance =
    recipe.balance === 'sampling'
      ? 'class-balanced sampling'
      : recipe.balance === 'weights'
        ? 'a class-weighted loss'
        : 'no class balancing';
  const fieldOfView = recipe.fieldOfView
    ? `, a random round field of view (black outside an ellipse, as a dermoscope shows it) on ${Math.round(100 * (recipe.fieldOfView as number))}% of the training images`
    : '';
  const ema = recipe.ema ? `; the shipped weights are an exponential moving average (decay ${recipe.ema}) of the trained ones` : '';
  const criteria = [...new Set(training.configs.map((c) => selectionCriterion(c.selectOn as SelectOn | undefined)))];
  const epochChoice = ensembleSize
    ? `each network's best epoch (${training.bestEpochs.join(', ')}) chosen on ${
        criteria.length === 1
          ? criteria[0]
          : training.configs.map((c, i) => `${selectionCriterion(c.selectOn as SelectOn | undefined)} for network ${i + 1}`).join(', ')
      }. The networks differ only in their seed for initialisation, batch order, augmentation and dropout (${seedsOf(s).join(', ')})${
        criteria.length === 1 ? '' : ' and in how their epoch was chosen'
      }; the shipped model averages their probabilities.`
    : refit
      ? `last epoch kept. This is a refit: run ${refit.name} trained the same recipe on the ${splitSizes.train} training images alone, was validated (its best epoch, ${refit.name}'s temperature, test-time flip mode and melanoma threshold were chosen on validation), and the shipped network then repeated the recipe on training + validation images; those settings and the validation numbers in this card are ${refit.name}'s.`
      : `best epoch chosen on ${criteria[0]}.`;
  return `${who} ${from} on ${data} (${images}, lesion-grouped split, seed ${split.seed}) with ${balance}, ${recipe.augment} augmentation, label smoothing ${recipe.labelSmoothing}${fieldOfView}, ${recipe.epochs} epochs${ema}; ${epochChoice}`;
}

/** The recipe as model-card.json records it: the run's config less its folders, plus what the config leaves implicit. */
function recipeJson(s: Shipment) {
  const { config, split, training, refit } = s;
  const { ensembleSize, recipe } = training;
  return {
    ...recipe,
    dataDir: undefined,
    outDir: undefined,
    optimizer: recipe.weightDecay ? 'AdamW (Adam + decoupled weight decay)' : 'Adam',
    backbone: undefined,
    loss: 'categorical cross-entropy',
    ...(refit ? { refitFrom: refit.name, trainedOn: 'train + val' } : {}),
    ...(ensembleSize
      ? {
          seed: undefined,
          splitSeed: undefined,
          tta: config.tta,
          ensemble: { members: training.members!.map((m) => basename(m)), seeds: seedsOf(s), splitSeed: split.seed },
        }
      : {}),
  };
}

/** What core/preprocess.ts does for this input, in one line of the card. */
export function preprocessingDescription(size: InputSize): string {
  const { width, height } = inputShape(size);
  return width === height
    ? 'RGBA pixels; centre crop to at most 4:3; area-averaging resize to inputSize x inputSize (linear interpolation when upscaling); alpha composited over white; /255.'
    : `RGBA pixels; centre crop to exactly ${width}:${height} (no squashing); area-averaging resize to ${width}x${height} (linear interpolation when upscaling); alpha composited over white; /255.`;
}
