// What a result means for the person looking at it, in plain words: one headline and one or two
// sentences, chosen by what the model found. Shared by the page card and the popup (card-view.ts).
import { classByCode } from '../../core/labels.ts';
import type { ClassificationResult } from './messages.ts';
import { formatPercent } from './result.ts';

/** melanoma: alert or top class; cancer: another malignant type on top; precancer: akiec on top. */
export type AdviceKind = 'melanoma' | 'cancer' | 'precancer' | 'benign';

export interface Advice {
  kind: AdviceKind;
  headline: string;
  text: string;
}

/**
 * Above this, cancer and pre-cancer types together outweigh a benign top class, and the advice says so:
 * "most likely harmless" would mislead when the rest of the answer points the other way.
 */
const MIXED_SIGNAL = 0.35;

export function adviceFor(result: ClassificationResult): Advice {
  const top = result.predictions[0];
  const topClass = classByCode(top.code);
  const mel = result.predictions.find((p) => p.code === 'mel')!;
  if (result.melanomaAlert || top.code === 'mel') {
    const level =
      result.melanomaThreshold !== null
        ? `, above the level at which this tool always warns (${formatPercent(result.melanomaThreshold)})`
        : '';
    return {
      kind: 'melanoma',
      headline: 'Please show this spot to a doctor soon',
      text:
        `Melanoma cannot be ruled out: the model gives it ${formatPercent(mel.probability)}${level}. ` +
        'Melanoma is the most serious skin cancer, and it is very treatable when found early.',
    };
  }
  if (topClass.group === 'malignant') {
    return {
      kind: 'cancer',
      headline: 'Please show this spot to a doctor',
      text: `It looks most like ${topClass.name.toLowerCase()}: ${topClass.plainName}. It rarely spreads, but it needs treatment, and a doctor can tell for sure.`,
    };
  }
  if (topClass.group === 'precancerous') {
    return {
      kind: 'precancer',
      headline: 'Worth showing to a doctor',
      text:
        'It looks most like an actinic keratosis: a rough patch of sun-damaged skin. It is not cancer, ' +
        'but it can turn into one over time; treatment is usually simple.',
    };
  }
  const mixed =
    result.concerningProbability >= MIXED_SIGNAL
      ? ` But cancer and pre-cancer types together get ${formatPercent(result.concerningProbability)}, so have a doctor look at it.`
      : ' See a doctor if it is new, growing, changing in shape or colour, itching or bleeding.';
  return {
    kind: 'benign',
    headline: `Most likely harmless: ${topClass.plainName}`,
    text: `A photo cannot rule out skin cancer.${mixed}`,
  };
}
