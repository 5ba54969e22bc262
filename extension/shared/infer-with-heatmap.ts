// One classification pass for a result card: probabilities, the dermoscopy gate's verdict and "where it
// looked". Shared by the browser's offscreen document and the VS Code extension host.
import { canExplain, explainInput } from '../../core/class-activation-map.ts';
import type { Classifier } from '../../core/classifier.ts';
import { dermoscopyVerdict } from '../../core/dermoscopy-gate.ts';
import { centreCrop } from '../../core/preprocess.ts';
import type { ClassificationResult, Heatmap } from './messages.ts';

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
  const { probabilities, map, crop, dermoscopy } = await explainInput(classifier, input, centreCrop(width, height));
  const threshold = classifier.metadata.dermoscopyThreshold ?? null;
  return {
    probabilities,
    heatmap: { map, crop },
    dermoscopy: dermoscopy === null || threshold === null ? null : dermoscopyVerdict(dermoscopy, threshold),
  };
}

/** One dummy pass through the path requests take (the explaining pass, when the model has a GAP head). */
export async function warmUp(classifier: Classifier): Promise<void> {
  const size = classifier.inputSize;
  if (canExplain(classifier))
    await explainInput(classifier, new Float32Array(size * size * 3).fill(0.5), { x: 0, y: 0, width: size, height: size });
  else await classifier.warmUp();
}
