// One classification pass for a result card: probabilities, the dermoscopy gate's verdict and "where it
// looked". Shared by the browser's offscreen document and the VS Code extension host.
import { canExplain, explainInput } from '../../core/class-activation-map.ts';
import type { Classifier } from '../../core/classifier.ts';
import { inputCrop, preprocess, type RgbaImage } from '../../core/preprocess.ts';
import type { ClassificationResult, Heatmap } from './messages.ts';
import { toClassificationResult } from './result.ts';

/**
 * Probabilities, and "where it looked" for the top class when the model can say (core/class-activation-map.ts):
 * one pass gives both, so the heatmap always explains exactly the result shown and costs no extra request.
 */
export async function inferWithHeatmap(
  classifier: Classifier,
  input: Float32Array,
  width: number,
  height: number,
): Promise<{ probabilities: Float32Array; heatmap?: Heatmap; dermoscopy: ClassificationResult['dermoscopy'] }> {
  if (!canExplain(classifier)) {
    const [{ probabilities, dermoscopy }] = await classifier.assessInputs([input]);
    return { probabilities, dermoscopy };
  }
  const { probabilities, map, crop, kinds } = await explainInput(classifier, input, inputCrop(width, height, classifier.inputShape));
  return { probabilities, heatmap: { map, crop }, dermoscopy: classifier.verdict(kinds) };
}

/** One dummy pass through the path requests take (the explaining pass, when the model has a GAP head). */
export async function warmUp(classifier: Classifier): Promise<void> {
  const { width, height } = classifier.inputShape;
  if (canExplain(classifier)) await explainInput(classifier, new Float32Array(height * width * 3).fill(0.5), { x: 0, y: 0, width, height });
  else await classifier.warmUp();
}

/** Where the image came from and when (performance.now()): the request started, the bytes arrived, they were decoded. */
export interface ImageSource {
  started: number;
  fetched: number;
  decoded: number;
  modelVersion: string;
  untrained: boolean;
  /** What the model card measured on ordinary photos of skin, shown with a "clinical" verdict. */
  clinicalPhotos?: ClassificationResult['clinicalPhotos'];
}

/** Decoded pixels -> the card's result: the one preprocessing, the one pass, and where the time went. */
export async function classifyPixels(classifier: Classifier, image: RgbaImage, source: ImageSource): Promise<ClassificationResult> {
  const input = preprocess(image, classifier.inputShape);
  const preprocessed = performance.now();
  const { probabilities, heatmap, dermoscopy } = await inferWithHeatmap(classifier, input, image.width, image.height);
  const done = performance.now();
  return toClassificationResult(probabilities, {
    melanomaThreshold: classifier.metadata.melanomaThreshold,
    ms: done - source.started,
    timings: {
      fetchMs: source.fetched - source.started,
      decodeMs: source.decoded - source.fetched,
      preprocessMs: preprocessed - source.decoded,
      inferenceMs: done - preprocessed,
    },
    modelVersion: source.modelVersion,
    untrained: source.untrained,
    width: image.width,
    height: image.height,
    heatmap,
    dermoscopy,
    clinicalPhotos: source.clinicalPhotos ?? null,
  });
}
