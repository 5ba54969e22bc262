/** The seven HAM10000 diagnostic classes, in the model's output order (alphabetical by code). */
export type ClassCode = 'akiec' | 'bcc' | 'bkl' | 'df' | 'mel' | 'nv' | 'vasc';
/**
 * benign: harmless; precancerous: not cancer (yet) but can become one (akiec: actinic keratosis, and
 * Bowen's disease, a carcinoma confined to the top layer of skin); malignant: a skin cancer.
 */
export type LesionGroup = 'benign' | 'precancerous' | 'malignant';

export interface LesionClass {
  readonly code: ClassCode;
  readonly name: string;
  readonly description: string;
  /** What it is in everyday words, for the result card ("a common mole"). */
  readonly plainName: string;
  readonly group: LesionGroup;
}

export const CLASSES: readonly LesionClass[] = Object.freeze([
  {
    code: 'akiec',
    name: 'Actinic keratosis / intraepithelial carcinoma',
    description: "Rough, scaly sun-damage lesions and Bowen's disease; pre-cancerous or early non-invasive squamous cell carcinoma.",
    plainName: 'a sun-damage spot that can turn into skin cancer',
    group: 'precancerous',
  },
  {
    code: 'bcc',
    name: 'Basal cell carcinoma',
    description: 'The most common skin cancer; grows slowly and rarely spreads, but destroys tissue locally if untreated.',
    plainName: 'a common, slow-growing skin cancer',
    group: 'malignant',
  },
  {
    code: 'bkl',
    name: 'Benign keratosis-like lesion',
    description: 'Seborrhoeic keratoses, solar lentigines and lichen-planus-like keratoses: common, harmless growths.',
    plainName: 'a harmless age spot or wart-like growth',
    group: 'benign',
  },
  {
    code: 'df',
    name: 'Dermatofibroma',
    description: 'A firm, benign fibrous nodule of the skin, often on the legs.',
    plainName: 'a harmless firm bump in the skin',
    group: 'benign',
  },
  {
    code: 'mel',
    name: 'Melanoma',
    description: 'A malignant tumour of pigment cells; can spread if not removed early.',
    plainName: 'the most serious type of skin cancer',
    group: 'malignant',
  },
  {
    code: 'nv',
    name: 'Melanocytic nevus',
    description: 'A common mole: a benign cluster of pigment cells.',
    plainName: 'a common mole',
    group: 'benign',
  },
  {
    code: 'vasc',
    name: 'Vascular lesion',
    description: 'Cherry angiomas, angiokeratomas, pyogenic granulomas and haemorrhage: benign blood-vessel lesions.',
    plainName: 'a harmless blood-vessel spot',
    group: 'benign',
  },
] satisfies LesionClass[]);

export const CLASS_CODES: readonly ClassCode[] = Object.freeze(CLASSES.map((c) => c.code));
export const NUM_CLASSES = CLASSES.length;

const BY_CODE = new Map(CLASSES.map((c, i) => [c.code, i] as const));

/** Index of a class code in the model output, or -1 when the code is not one of the seven. */
export function classIndex(code: string): number {
  return BY_CODE.get(code.trim().toLowerCase() as ClassCode) ?? -1;
}

export function isClassCode(code: string): code is ClassCode {
  return BY_CODE.has(code as ClassCode);
}

export function classByCode(code: ClassCode): LesionClass {
  return CLASSES[BY_CODE.get(code)!];
}

/** Groups that need a doctor's look: everything but benign. */
export const isConcerning = (group: LesionGroup): boolean => group !== 'benign';
