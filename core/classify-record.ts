// One line of `dermlens classify --json`, the shape every export of classification results uses (the
// CLI's JSON lines, the VS Code extension's folder export), so their fields never drift apart.
import type { DermoscopyVerdict, ImageKind } from './dermoscopy-gate.ts';
import type { ClassCode } from './labels.ts';
import type { Prediction } from './lesion-result.ts';

/**
 * A classified image; predictions most likely first. The gate's fields are null without a gate:
 * imageKind (dermoscopic | clinical | other), dermoscopic (true only for dermoscopic), the scores.
 */
export interface ClassifiedRecord {
  file: string;
  imageKind: ImageKind | null;
  dermoscopic: boolean | null;
  dermoscopyScore: number | null;
  clinicalScore: number | null;
  predictions: Array<{ code: ClassCode; probability: number }>;
  melanomaAlert: boolean;
}

/** An image that was refused or could not be read: the message is core/image-check.ts' wording. */
export interface RefusedRecord {
  file: string;
  error: string;
}

export type ClassifyRecord = ClassifiedRecord | RefusedRecord;

export function classifiedRecord(
  file: string,
  predictions: readonly Prediction[],
  melanomaAlert: boolean,
  dermoscopy: Pick<DermoscopyVerdict, 'kind' | 'dermoscopic' | 'score' | 'clinicalScore'> | null,
): ClassifiedRecord {
  return {
    file,
    imageKind: dermoscopy?.kind ?? null,
    dermoscopic: dermoscopy?.dermoscopic ?? null,
    dermoscopyScore: dermoscopy?.score ?? null,
    clinicalScore: dermoscopy?.clinicalScore ?? null,
    predictions: predictions.map((p) => ({ code: p.code, probability: p.probability })),
    melanomaAlert,
  };
}
