// The end of a run: fit on validation what inference needs (flip mode, softmax temperature, melanoma
// alert threshold), or take it from the run a refit repeats; then evaluate test once with the choice
// already made, re-export best/ (and the quantized copy) with it, and write the run's metrics files.
import { join } from 'node:path';
import { tf } from '../../core/tf.ts';
import { CLASS_CODES } from '../../core/labels.ts';
import { computeMetrics, thresholdForRecall, thresholdStats, type Metrics } from '../../core/metrics.ts';
import { dermlensMetadata, storedMetadata } from '../../core/model-metadata.ts';
import type { Dataset } from '../data/dataset.ts';
import { exportModel } from '../model/export.ts';
import type { TrainConfig } from '../run/config.ts';
import { writeJsonAtomic } from '../run/json.ts';
import { runPaths } from '../run/layout.ts';
import { fileLoadHandler } from '../run/model-files.ts';
import { applyTemperature, fitTemperature } from './calibrate.ts';
import { metricsJson } from './evaluate-model.ts';
import { scoreExternal, type ExternalEvaluation } from './external.ts';
import { predictDataset } from './predict.ts';

/**
 * Melanoma recall wanted on validation when choosing the alert threshold. Well above the 0.70 goal on
 * purpose: a threshold tuned to exactly 0.70 on 167 validation melanomas lands below it on new data
 * about half the time, and 0.80 was not margin enough either (the first shipped model: 0.80 on
 * validation, 0.695 on test). Set to 0.85 before the second model's test split was looked at; it costs
 * precision, which the model card reports beside it.
 */
export const MELANOMA_TARGET_VAL_RECALL = 0.85;
/** The run's validation recall target for the alert (--melanoma-recall; runs saved before it existed used the default). */
const melanomaRecallOf = (c: { melanomaRecall?: number }) => c.melanomaRecall ?? MELANOMA_TARGET_VAL_RECALL;

export interface MelanomaOperatingPoint {
  melanomaThreshold: number;
  targetValRecall: number;
  val: { recall: number; precision: number; flagged: number };
  test: { recall: number; precision: number; flagged: number };
}

export interface FinalEvaluation {
  temperature: number;
  tta: 'none' | 'flip';
  /** Calibrated metrics with the shipped inference settings. */
  val: Metrics;
  test: Metrics;
  /** Every evaluated variant, keyed "val/none", "test/flip", ... (calibrated). */
  variants: Record<string, Metrics>;
  valEceUncalibrated: number;
  /** The melanoma alert operating point (chosen on val) and what it gives on val and test. */
  operatingPoint: MelanomaOperatingPoint | null;
  /**
   * The quantized copy (--quantize) evaluated on test with the same settings: its metrics, and its
   * melanoma alert's test recall/precision at the threshold chosen on validation (float32). Its
   * calibrated test predictions are in predictions-<dtype>.json, so a model card of the quantized
   * weights (what ships when the float32 ones are too big) has every test number of its own.
   */
  quantized?: { dtype: string; dir: string; test: Metrics; operatingPointTest?: MelanomaOperatingPoint['test'] };
  /** Set for a refit: the run whose temperature, flip mode, melanoma threshold and validation metrics these are. */
  refitFrom?: string;
  /** With --extra-data: the external validation set, scored with the settings chosen on validation. */
  external?: ExternalEvaluation;
}

/** What the final evaluation needs of a run's configuration (a training run's, or an ensemble's). */
export type FinalEvaluationConfig = Pick<TrainConfig, 'outDir' | 'arch' | 'size' | 'tta' | 'quantize'> & { melanomaRecall?: number };

/**
 * What is fitted on held-out data (flip mode, temperature, melanoma threshold) and the validation
 * evidence for it: fitted on the run's own validation predictions (fitOnValidation), or carried over
 * from the validated run a refit repeats (trainer/train/refit.ts carriedFit).
 */
export interface ValidationFit {
  tta: 'none' | 'flip';
  temperature: number;
  /** The melanoma alert threshold and what it gives on validation; null: no alert rule. */
  melanoma: { threshold: number; targetValRecall?: number; val: MelanomaOperatingPoint['val'] } | null;
  /** Calibrated validation metrics with the chosen settings. */
  val: Metrics;
  valEceUncalibrated: number;
  /** Calibrated metrics of every evaluated flip mode on validation, keyed "val/none", "val/flip". */
  valVariants: Record<string, Metrics>;
  /** Calibrated validation predictions with the chosen settings (predictions.json's val block). */
  valPredictions: { imageIds: string[]; labels: number[]; probs: number[][] };
  /** The flip modes to evaluate on test. */
  testModes: Array<'none' | 'flip'>;
  /** Set when carried over: the run they were fitted on. */
  from?: string;
}

/** Calibrated probabilities, rounded for the predictions file. */
const calibratedRows = (raw: Float32Array[], temperature: number) =>
  raw.map((p) => Array.from(applyTemperature(p, temperature), (v) => Number(v.toPrecision(6))));

/** Picks the flip mode on val, fits the temperature on val, chooses the melanoma threshold on val. */
async function fitOnValidation(
  best: tf.LayersModel,
  ds: Dataset,
  valIdx: number[],
  valLabels: number[],
  modes: Array<'none' | 'flip'>,
  melanomaRecall: number,
): Promise<ValidationFit> {
  const raw: Record<string, Float32Array[]> = {};
  for (const tta of modes) raw[tta] = await predictDataset(best, ds, valIdx, { temperature: 1, tta });
  const tta = modes.reduce((a, b) =>
    computeMetrics(valLabels, raw[b]).balancedAccuracy > computeMetrics(valLabels, raw[a]).balancedAccuracy ? b : a,
  );
  const temperature = fitTemperature(valLabels, raw[tta]);
  const valVariants = Object.fromEntries(
    modes.map((mode) => [
      `val/${mode}`,
      computeMetrics(
        valLabels,
        raw[mode].map((p) => applyTemperature(p, temperature)),
      ),
    ]),
  );
  const mel = CLASS_CODES.indexOf('mel');
  const isMel = valLabels.map((l) => l === mel);
  const melScores = raw[tta].map((p) => applyTemperature(p, temperature)[mel]);
  // Without validation melanomas there is nothing to choose a threshold from: no alert rule then.
  const threshold = isMel.includes(true) ? thresholdForRecall(isMel, melScores, melanomaRecall) : null;
  return {
    tta,
    temperature,
    melanoma: threshold === null ? null : { threshold, targetValRecall: melanomaRecall, val: thresholdStats(isMel, melScores, threshold) },
    val: valVariants[`val/${tta}`],
    valEceUncalibrated: computeMetrics(valLabels, raw[tta]).ece,
    valVariants,
    valPredictions: { imageIds: valIdx.map((i) => ds.items[i].imageId), labels: valLabels, probs: calibratedRows(raw[tta], temperature) },
    testModes: modes,
  };
}

/**
 * Fits the model in outDir/best on val (or, for a refit, takes what its reference fitted), evaluates
 * test once with the result, and re-exports best/ (and the quantized copy) with it.
 */
export async function finalEvaluation(
  config: FinalEvaluationConfig,
  ds: Dataset,
  idx: { val: number[]; test: number[]; external?: number[] },
  valLabels: number[],
  testLabels: number[],
  options: { backend?: string },
  log: (line: string) => void,
  carried: ValidationFit | null = null,
): Promise<FinalEvaluation> {
  const paths = runPaths(config.outDir);
  const bestDir = paths.best;
  const best = await tf.loadLayersModel(fileLoadHandler(join(bestDir, 'model.json')));
  try {
    // Choose on validation only; test is looked at once, with the choice already made.
    const fit =
      carried ?? (await fitOnValidation(best, ds, idx.val, valLabels, config.tta ? ['none', 'flip'] : ['none'], melanomaRecallOf(config)));
    const { tta, temperature } = fit;
    const rawTest: Record<string, Float32Array[]> = {};
    const variants: Record<string, Metrics> = {};
    for (const mode of fit.testModes) {
      rawTest[mode] = await predictDataset(best, ds, idx.test, { temperature: 1, tta: mode });
      if (fit.valVariants[`val/${mode}`]) variants[`val/${mode}`] = fit.valVariants[`val/${mode}`];
      variants[`test/${mode}`] = computeMetrics(
        testLabels,
        rawTest[mode].map((p) => applyTemperature(p, temperature)),
      );
    }
    const mel = CLASS_CODES.indexOf('mel');
    const melanomaThreshold = fit.melanoma?.threshold ?? null;
    const externalIdx = idx.external ?? [];
    const rawExternal = externalIdx.length ? await predictDataset(best, ds, externalIdx, { temperature: 1, tta }) : [];
    const external = externalIdx.length
      ? scoreExternal(
          externalIdx.map((i) => ds.items[i]),
          rawExternal.map((p) => applyTemperature(p, temperature)),
          melanomaThreshold,
        )
      : undefined;
    await writeJsonAtomic(paths.predictions, {
      temperature,
      tta,
      ...(fit.from ? { refitFrom: fit.from } : {}),
      val: fit.valPredictions,
      test: { imageIds: idx.test.map((i) => ds.items[i].imageId), labels: testLabels, probs: calibratedRows(rawTest[tta], temperature) },
      ...(externalIdx.length
        ? {
            external: {
              imageIds: externalIdx.map((i) => ds.items[i].imageId),
              labels: externalIdx.map((i) => ds.items[i].label),
              collections: externalIdx.map((i) => ds.items[i].dataset ?? ds.items[i].source ?? ''),
              probs: calibratedRows(rawExternal, temperature),
            },
          }
        : {}),
    });
    const operatingPoint: MelanomaOperatingPoint | null =
      fit.melanoma === null
        ? null
        : {
            melanomaThreshold: fit.melanoma.threshold,
            targetValRecall: fit.melanoma.targetValRecall ?? MELANOMA_TARGET_VAL_RECALL,
            val: fit.melanoma.val,
            test: thresholdStats(
              testLabels.map((l) => l === mel),
              rawTest[tta].map((p) => applyTemperature(p, temperature)[mel]),
              fit.melanoma.threshold,
            ),
          };
    // A gate fitted to these weights (dermlens fit-gate) stays with them when the final evaluation is redone.
    const stored = storedMetadata(best);
    const metadata = dermlensMetadata({
      arch: config.arch,
      inputSize: config.size,
      temperature,
      tta,
      melanomaThreshold,
      dermoscopyThreshold: stored?.dermoscopyThreshold ?? null,
      clinicalThreshold: stored?.clinicalThreshold ?? null,
    });
    await exportModel(best, bestDir, metadata);
    const final: FinalEvaluation = {
      temperature,
      tta,
      val: fit.val,
      test: variants[`test/${tta}`],
      variants,
      valEceUncalibrated: fit.valEceUncalibrated,
      operatingPoint,
      ...(fit.from ? { refitFrom: fit.from } : {}),
      ...(external ? { external } : {}),
    };
    if (operatingPoint)
      log(
        `melanoma alert at P(mel) >= ${operatingPoint.melanomaThreshold.toFixed(3)}: val recall ${operatingPoint.val.recall.toFixed(3)} (precision ${operatingPoint.val.precision.toFixed(3)})`,
      );
    if (fit.from) log(`temperature, tta and melanoma threshold carried over from ${fit.from}; the val metrics below are that run's`);
    log(
      `temperature ${temperature.toFixed(3)} (val ECE ${fit.valEceUncalibrated.toFixed(4)} -> ${final.val.ece.toFixed(4)}), tta ${tta}` +
        (temperature > 19.9 || temperature < 0.051 ? ' [temperature at the search bound: the model is far from calibrated]' : ''),
    );

    if (config.quantize !== 'none') {
      const qDir = paths.quantized(config.quantize);
      await exportModel(best, qDir, metadata, config.quantize);
      const q = await tf.loadLayersModel(fileLoadHandler(join(qDir, 'model.json')));
      try {
        const probs = await predictDataset(q, ds, idx.test, { temperature, tta });
        final.quantized = {
          dtype: config.quantize,
          dir: qDir,
          test: computeMetrics(testLabels, probs),
          ...(melanomaThreshold === null
            ? {}
            : {
                operatingPointTest: thresholdStats(
                  testLabels.map((l) => l === mel),
                  probs.map((p) => p[mel]),
                  melanomaThreshold,
                ),
              }),
        };
        await writeJsonAtomic(paths.quantizedPredictions(config.quantize), {
          temperature,
          tta,
          dtype: config.quantize,
          test: { imageIds: idx.test.map((i) => ds.items[i].imageId), labels: testLabels, probs: calibratedRows(probs, 1) },
        });
        log(`${config.quantize} model in ${qDir}: test balanced accuracy ${final.quantized.test.balancedAccuracy.toFixed(4)}`);
      } finally {
        q.dispose();
      }
    }
    await writeJsonAtomic(paths.metrics, metricsJson(final.test));
    await writeJsonAtomic(paths.metricsDetail, { ...final, backend: options.backend ?? tf.getBackend() });
    log(
      `val:  balanced accuracy ${final.val.balancedAccuracy.toFixed(4)}, macro AUC ${final.val.macroAuc?.toFixed(4) ?? 'n/a'}, macro F1 ${final.val.macroF1.toFixed(4)}`,
    );
    if (external) {
      for (const [name, m] of [['all', external.all] as const, ...Object.entries(external.byCollection)]) {
        const alert = name === 'all' ? external.melanomaAlert : external.melanomaAlertByCollection[name];
        log(
          `external ${name}: balanced accuracy ${m.balancedAccuracy.toFixed(4)} (recall ${m.classes
            .filter((c) => m.perClass[c].support > 0)
            .map((c) => `${c} ${m.perClass[c].recall.toFixed(2)}`)
            .join(', ')}), macro AUC ${m.macroAuc?.toFixed(4) ?? 'n/a'}, ECE ${m.ece.toFixed(4)}` +
            (alert ? `, melanoma alert recall ${alert.recall.toFixed(3)} precision ${alert.precision.toFixed(3)}` : ''),
        );
      }
    }
    log(
      `test: balanced accuracy ${final.test.balancedAccuracy.toFixed(4)}, macro AUC ${final.test.macroAuc?.toFixed(4) ?? 'n/a'}, macro F1 ${final.test.macroF1.toFixed(4)}, ECE ${final.test.ece.toFixed(4)}`,
    );
    return final;
  } finally {
    best.dispose();
  }
}
