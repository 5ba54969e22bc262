// model-card.json, shipped next to the model: what the popup's "About the model" view shows.
// The trainer writes it; the dev-model script writes an untrained one. Fields other than these are
// ignored, and missing optional fields are simply not shown.
import { CLASS_CODES, type ClassCode } from './labels.ts';

export interface ClassRecall {
  recall: number;
  precision?: number;
  f1?: number;
  support?: number;
}

export interface ModelEvaluation {
  /** Which data the numbers were measured on, e.g. "held-out test split (lesion-grouped), 1,503 images". */
  split: string;
  n: number;
  accuracy: number;
  balancedAccuracy: number;
  macroF1?: number;
  macroAuc?: number | null;
  perClass: Record<ClassCode, ClassRecall>;
}

/**
 * What DermLens measured on ordinary (clinical) photos of skin, taken without a dermatoscope: the card and
 * the popup quote it when the gate names a photo "clinical". Written by `dermlens ship` from gate.json.
 */
export interface ClinicalPhotoFigures {
  /** Which photos, e.g. "98 smartphone photos of 74 held-out patients (PAD-UFES-20)". */
  photos: string;
  n: number;
  /** Share the gate did not let through as dermoscopic. */
  notDermoscopicRate: number;
  /** Share it named "clinical" (an ordinary photo of skin). */
  namedClinicalRate: number;
  /** The lesion classifier's balanced accuracy on those photos, and chance level for the classes present. */
  lesionBalancedAccuracy: number | null;
  lesionChance: number | null;
}

export interface ModelCard {
  name: string;
  /** Shown with every result, e.g. "compact-96 2026-11-26". */
  version: string;
  /** True for the development model with random weights: the UI then says its output means nothing. */
  untrained: boolean;
  created: string;
  arch: string;
  /** A square model's input side; a non-square model states inputWidth and inputHeight instead (as its model.json does). */
  inputSize?: number;
  inputWidth?: number;
  inputHeight?: number;
  parameters?: number;
  /** One or two sentences on the data and training. */
  training: string;
  /** Null when nothing was measured (the untrained dev model). */
  evaluation: ModelEvaluation | null;
  limitations: string[];
  /** Absent for models without the three-way gate. */
  clinicalPhotos?: ClinicalPhotoFigures | null;
}

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isString = (v: unknown): v is string => typeof v === 'string';

/** Validates parsed JSON as a model card; throws an Error naming the first bad field. */
export function parseModelCard(json: unknown): ModelCard {
  const c = json as Record<string, unknown>;
  if (typeof c !== 'object' || c === null) throw new Error('model-card.json is not a JSON object.');
  const need = <T>(key: string, check: (v: unknown) => v is T, what: string): T => {
    if (!check(c[key])) throw new Error(`model-card.json: "${key}" must be ${what}.`);
    return c[key] as T;
  };
  const card: ModelCard = {
    name: need('name', isString, 'a string'),
    version: need('version', isString, 'a string'),
    untrained: c.untrained === true,
    created: need('created', isString, 'a date string'),
    arch: need('arch', isString, 'a string'),
    ...parseInput(c, need),
    parameters: isNumber(c.parameters) ? c.parameters : undefined,
    training: isString(c.training) ? c.training : '',
    evaluation: null,
    limitations: Array.isArray(c.limitations) ? c.limitations.filter(isString) : [],
    clinicalPhotos: parseClinicalPhotos(c.clinicalPhotos),
  };
  const e = c.evaluation as Record<string, unknown> | null | undefined;
  if (e != null) {
    const perClass = e.perClass as Record<string, Record<string, unknown>> | undefined;
    if (typeof perClass !== 'object' || perClass === null) throw new Error('model-card.json: "evaluation.perClass" must be an object.');
    for (const code of CLASS_CODES) {
      if (!isNumber(perClass[code]?.recall)) throw new Error(`model-card.json: "evaluation.perClass.${code}.recall" must be a number.`);
    }
    if (!isNumber(e.accuracy) || !isNumber(e.balancedAccuracy) || !isNumber(e.n)) {
      throw new Error('model-card.json: "evaluation" needs numbers "n", "accuracy" and "balancedAccuracy".');
    }
    card.evaluation = {
      split: isString(e.split) ? e.split : 'evaluation set',
      n: e.n,
      accuracy: e.accuracy,
      balancedAccuracy: e.balancedAccuracy,
      macroF1: isNumber(e.macroF1) ? e.macroF1 : undefined,
      macroAuc: isNumber(e.macroAuc) ? e.macroAuc : null,
      perClass: Object.fromEntries(
        CLASS_CODES.map((code) => {
          const p = perClass[code];
          return [
            code,
            {
              recall: p.recall as number,
              precision: isNumber(p.precision) ? p.precision : undefined,
              f1: isNumber(p.f1) ? p.f1 : undefined,
              support: isNumber(p.support) ? p.support : undefined,
            },
          ];
        }),
      ) as Record<ClassCode, ClassRecall>,
    };
  }
  return card;
}

/** inputSize (a number) for a square model, or inputWidth and inputHeight (numbers) for a non-square one. */
function parseInput(
  c: Record<string, unknown>,
  need: (key: string, check: (v: unknown) => v is number, what: string) => number,
): Pick<ModelCard, 'inputSize' | 'inputWidth' | 'inputHeight'> {
  if (c.inputWidth === undefined && c.inputHeight === undefined) return { inputSize: need('inputSize', isNumber, 'a number') };
  if (c.inputSize !== undefined)
    throw new Error('model-card.json: states both "inputSize" (a square model) and "inputWidth"/"inputHeight" (a non-square one).');
  return { inputWidth: need('inputWidth', isNumber, 'a number'), inputHeight: need('inputHeight', isNumber, 'a number') };
}

/** The model's input as the card shows it, width x height: "96x96", "160x120". */
export function cardInputLabel(card: Pick<ModelCard, 'inputSize' | 'inputWidth' | 'inputHeight'>): string {
  return card.inputSize !== undefined ? `${card.inputSize}x${card.inputSize}` : `${card.inputWidth}x${card.inputHeight}`;
}

function parseClinicalPhotos(json: unknown): ClinicalPhotoFigures | null {
  if (json == null) return null;
  const f = json as Record<string, unknown>;
  const rate = (v: unknown) => isNumber(v) && v >= 0 && v <= 1;
  if (!isString(f.photos) || !isNumber(f.n) || !rate(f.notDermoscopicRate) || !rate(f.namedClinicalRate)) {
    throw new Error(
      'model-card.json: "clinicalPhotos" needs "photos" (text), "n", and "notDermoscopicRate" and "namedClinicalRate" in [0, 1].',
    );
  }
  return {
    photos: f.photos,
    n: f.n,
    notDermoscopicRate: f.notDermoscopicRate as number,
    namedClinicalRate: f.namedClinicalRate as number,
    lesionBalancedAccuracy: isNumber(f.lesionBalancedAccuracy) ? f.lesionBalancedAccuracy : null,
    lesionChance: isNumber(f.lesionChance) ? f.lesionChance : null,
  };
}

/** The label shown with each result. */
export function modelVersionLabel(card: ModelCard): string {
  return card.untrained ? `${card.version} (untrained dev model)` : card.version;
}
