// How the CLI (classify, explain) words the gate's verdict (core/dermoscopy-gate.ts): the JSON fields and
// the warning line, one definition for both commands.
import type { DermoscopyVerdict, ImageKind, KindCounts } from '../../core/dermoscopy-gate.ts';
import type { EvaluateResult } from '../evaluate/evaluate-model.ts';

/** The verdict's JSON fields: "imageKind", "dermoscopic" (true only for dermoscopic) and the scores; nulls without a gate. */
export function verdictJson(verdict: DermoscopyVerdict | null): {
  imageKind: ImageKind | null;
  dermoscopic: boolean | null;
  dermoscopyScore: number | null;
  clinicalScore: number | null;
} {
  return {
    imageKind: verdict?.kind ?? null,
    dermoscopic: verdict?.dermoscopic ?? null,
    dermoscopyScore: verdict?.score ?? null,
    clinicalScore: verdict?.clinicalScore ?? null,
  };
}

/** The table's verdict line, e.g. "image kind: dermoscopic (P(dermoscopic) 0.981, threshold 0.928)". */
export function verdictLine(verdict: DermoscopyVerdict): string {
  const clinical =
    verdict.clinicalScore === null || verdict.dermoscopic
      ? ''
      : `; P(clinical | not dermoscopic) ${verdict.clinicalScore.toFixed(3)}, threshold ${verdict.clinicalThreshold!.toFixed(3)}`;
  return `image kind: ${verdict.kind} (P(dermoscopic) ${verdict.score.toFixed(3)}, threshold ${verdict.threshold.toFixed(3)}${clinical})`;
}

/** Why a non-dermoscopic image's lesion classes mean little, for the warning line. */
export function verdictWarning(verdict: DermoscopyVerdict): string {
  return verdict.kind === 'clinical'
    ? 'this looks like an ordinary photo of skin, not a dermoscopic image. DermLens reads images taken through a dermatoscope; ' +
        'on ordinary photos of skin its lesion classes are unreliable (see the model card, "Phone and clinical photos").'
    : 'this does not look like a dermoscopic image of a skin lesion. The model only knows seven kinds of lesion seen through a dermatoscope.';
}

/** "dermoscopic 97.0% (97), clinical 2.0% (2), other 1.0% (1) of 100" */
export function formatKindCounts(c: KindCounts): string {
  const pct = (k: number) => `${c.n ? ((100 * k) / c.n).toFixed(1) : '0.0'}% (${k})`;
  return `dermoscopic ${pct(c.dermoscopic)}, clinical ${pct(c.clinical)}, other ${pct(c.other)} of ${c.n}`;
}

/** The lines `dermlens evaluate` prints about the gate: the kinds overall, per collection and per class. */
export function describeImageKinds(g: NonNullable<EvaluateResult['gate']>): string[] {
  const flagged = g.all.n - g.all.dermoscopic;
  return [
    `image kind (gate: P(dermoscopic) < ${g.thresholds.dermoscopy.toFixed(3)} is not dermoscopic${g.thresholds.clinical === null ? '; a two-way gate, it names no image clinical' : `, then clinical when P(clinical | not dermoscopic) >= ${g.thresholds.clinical.toFixed(3)}`}): ` +
      `${formatKindCounts(g.all)}; flagged ${g.all.n ? ((100 * flagged) / g.all.n).toFixed(1) : '0.0'}% (${flagged}/${g.all.n}) as not a dermoscopic image`,
    ...Object.entries(g.perCollection).map(([name, c]) => `  ${name}: ${formatKindCounts(c)}`),
    `  per class: ${Object.entries(g.perClass)
      .map(([code, c]) => `${code} ${c.n - c.dermoscopic}/${c.n} not dermoscopic`)
      .join(', ')}`,
  ];
}
