// The one "where it looked" case computed both in Node (scripts/make-cam-fixture.ts) and in Chromium
// (test/browser/cam-parity.test.ts): a seeded compact model (weights from seeded initialisers, the same
// numbers in every JS engine), with flip averaging and a temperature like the shipped model, explaining
// the synthetic 600x450 image. Kept apart from the shipped model so a new release needs no new fixture.
import { buildModel } from '../../core/models.ts';
import { fromModel, type Classifier } from '../../core/classifier.ts';
import { CLASS_CODES } from '../../core/labels.ts';
import { PREPROCESS_VERSION } from '../../core/preprocess.ts';
import { PNG_SPEC, syntheticRgba } from '../browser/fixtures/synthetic-rgba.ts';
import { explainImage, type Explanation } from '../../core/class-activation-map.ts';

export const CAM_INPUT_SIZE = 64;

export async function camCaseClassifier(): Promise<Classifier> {
  const model = buildModel('compact', { inputSize: CAM_INPUT_SIZE, seed: 11 });
  model.setUserDefinedMetadata({
    dermlens: {
      version: 1,
      arch: 'compact',
      inputSize: CAM_INPUT_SIZE,
      classes: [...CLASS_CODES],
      temperature: 0.87,
      tta: 'flip',
      preprocess: PREPROCESS_VERSION,
      melanomaThreshold: null,
    },
  });
  return fromModel(model, { warmUp: false });
}

export async function explainCamCase(classifier: Classifier): Promise<Explanation> {
  return explainImage(classifier, syntheticRgba(PNG_SPEC));
}
