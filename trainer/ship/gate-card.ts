// The gate's parts of the model card (dermlens ship): the "Phone and clinical photos" and "Out-of-scope
// images" sections of MODEL_CARD.md, the figures model-card.json gives the extension for clinical
// photos, the limitation line and the gate's targets. Reads gate.json as either generation: the
// three-way gate (v2) or the older two-way gate (v1, which has nothing to say about clinical photos).
import type { ClinicalPhotoFigures } from '../../core/model-card.ts';
import type { FlagRate } from '../../core/dermoscopy-gate.ts';
import type { ClinicalComparison, GateReport, KindRate, LegacyGateReport } from '../train/fit-gate.ts';
import { readRunSources } from '../data/run-sources.ts';
import type { TrainConfig } from '../run/config.ts';
import type { Split } from '../data/split.ts';
import { num, pct } from './card-format.ts';

/** The clinical photos the classifier itself trained on (a clinical-photo --extra-data folder), or null. */
export interface ClinicalTraining {
  folder: string;
  photos: number;
  patients: number;
}

/** What of the run's training side came from clinical-photo folders (their lesion id is the patient). */
export async function clinicalTrainingOf(config: TrainConfig, split: Split): Promise<ClinicalTraining | null> {
  if (!config.extraData?.length) return null;
  const sources = await readRunSources(config, () => {});
  const train = new Set(split.train);
  const photos = sources.extras.filter((s) => s.imaging === 'clinical').flatMap((s) => s.items.filter((i) => train.has(i.imageId)));
  if (!photos.length) return null;
  const folders = [...new Set(photos.map((i) => i.source ?? ''))];
  return { folder: folders.join(', '), photos: photos.length, patients: new Set(photos.map((i) => i.lesionId)).size };
}

type AnyGate = GateReport | LegacyGateReport;
const isThreeWay = (gate: AnyGate): gate is GateReport => gate.format === 'dermlens-gate-v2';

const of = (f: FlagRate) => `${pct(f.rate)} (${f.flagged} of ${f.n})`;
const named = (f: KindRate) => `${pct(f.namedRate)} (${f.named} of ${f.n})`;

/** The clinical-photo figures the card and popup quote (model-card.json clinicalPhotos); null for the two-way gate. */
export function clinicalPhotoFigures(gate: AnyGate | null): ClinicalPhotoFigures | null {
  if (!gate || !isThreeWay(gate)) return null;
  const c = gate.test.clinical;
  const lesions = gate.test.clinicalLesions;
  return {
    photos: `${c.n} phone photos of skin spots from ${c.patients} patients (PAD-UFES-20)`,
    n: c.n,
    notDermoscopicRate: c.rate,
    namedClinicalRate: c.namedRate,
    lesionBalancedAccuracy: lesions.n ? lesions.balancedAccuracy : null,
    lesionChance: lesions.n ? lesions.chance : null,
  };
}

export function gateLimitation(gate: AnyGate | null): string {
  if (!gate) {
    return 'Dermoscopic images only: phone photos, clinical close-ups and non-skin images are out of scope and get confident-looking but meaningless answers.';
  }
  if (!isThreeWay(gate)) {
    return 'Dermoscopic images only. The dermoscopy gate flags most non-skin images (see its section), but it was not trained on clinical (non-dermoscopic) photos of skin, and an image it lets through still gets one of seven lesion classes whatever it shows.';
  }
  return (
    `Dermoscopic images only. Ordinary photos of skin (phone or webcam, no dermatoscope) are named "clinical" and their lesion answer is folded away: ` +
    `on held-out phone photos the gate kept ${pct(gate.test.clinical.rate)} from passing as dermoscopic, and the lesion classifier itself reached a balanced accuracy of ` +
    `${gate.test.clinicalLesions.balancedAccuracy.toFixed(2)} on them (chance ${gate.test.clinicalLesions.chance.toFixed(2)}). A photo the gate lets through still gets one of seven lesion classes whatever it shows.`
  );
}

/** The gate's rows of the card's targets table: [target, met, measured]. */
export function gateTargets(gate: AnyGate | null): Array<readonly [string, boolean, string]> {
  if (!gate) return [];
  const rows: Array<readonly [string, boolean, string]> = [
    ['Held-out non-dermoscopic images flagged "not a dermoscopic image" >= 95%', gate.test.ood.rate >= 0.95, of(gate.test.ood)],
    ['HAM10000 test images flagged <= 2%', gate.test.ham.rate <= 0.02, of(gate.test.ham)],
  ];
  if (!isThreeWay(gate)) return rows;
  const c = gate.test.clinical;
  return [
    ...rows,
    ['Held-out clinical (phone) photos not presented as dermoscopic >= 90%', c.rate >= 0.9, of(c)],
    ['Held-out clinical (phone) photos named "clinical" >= 80%', c.namedRate >= 0.8, named(c)],
    ...Object.entries(gate.test.external).map(
      ([name, f]) => [`External dermoscopic collection ${name} (never trained on) flagged <= 3%`, f.rate <= 0.03, of(f)] as const,
    ),
  ];
}

/** "## Phone and clinical photos": what the three-way gate does with ordinary photos of skin, and what that means for a user. */
export function phoneAndClinicalSection(gate: AnyGate, trained: ClinicalTraining | null = null): string {
  if (!isThreeWay(gate)) return '';
  const c = gate.test.clinical;
  const lesions = gate.test.clinicalLesions;
  const set = gate.clinicalSet;
  const learned = trained
    ? `the lesion classifier learned them from ${trained.photos} photos only (${trained.folder}'s ${trained.patients} training patients, beside thousands of dermoscopic images)`
    : 'the lesion classifier never learned to read it';
  return `## Phone and clinical photos
DermLens reads **dermoscopic** images: pictures taken through a dermatoscope (a skin magnifier with its own light,
also sold as an attachment for phones and webcams). A photo of the skin taken with an ordinary phone or laptop camera
is a **clinical** photo: the same spot looks different (no contact light, skin texture, glare, colour casts), and
${learned}. The gate therefore names every image one of three kinds: *dermoscopic*,
*clinical* (an ordinary photo of skin) or *other* (not skin). For a clinical photo the card and the popup say "This looks
like an ordinary photo of skin, not a dermoscopic image" and fold the lesion answer behind "Show the result anyway";
the camera view says the same before and after the shot.

Fitted on the smartphone photos of ${gate.training.clinicalPatients} patients of PAD-UFES-20 (${gate.training.clinical} photos); the clinical-or-other
threshold (${gate.clinicalThreshold.toFixed(2)} on P(clinical) / (P(clinical) + P(other))) was chosen on ${set.photos.val} photos of ${set.patients.val} other patients;
patients were dealt ${set.split}. Scored once on the ${c.n} photos of the ${c.patients} remaining patients:

| held-out clinical photos (${c.n}, ${c.patients} patients) | share |
|---|---|
| not presented as dermoscopic | ${of(c)} |
| named "clinical" (an ordinary photo of skin) | ${named(c)} |
${Object.entries(gate.test.clinicalPerDiagnosis)
  .map(([d, f]) => `| ${d}: not dermoscopic / named clinical | ${pct(f.rate)} / ${pct(f.namedRate)} (${f.n} photos) |`)
  .join('\n')}

**The lesion answer on such photos**: on the ${lesions.n} held-out photos whose diagnosis is one of DermLens' classes
(${Object.entries(lesions.perClass)
    .map(([code, m]) => `${code} ${m.support}`)
    .join(', ')}${
    Object.keys(lesions.leftOut).length
      ? `; left out: ${Object.entries(lesions.leftOut)
          .map(([d, n]) => `${d} ${n}`)
          .join(', ')}, no DermLens class covers invasive squamous cell carcinoma`
      : ''
  }),
the classifier's balanced accuracy was **${lesions.balancedAccuracy.toFixed(3)}**${lesions.interval ? ` (95% interval ${lesions.interval.low.toFixed(2)}-${lesions.interval.high.toFixed(2)}, drawn by patient)` : ''} (chance ${lesions.chance.toFixed(2)}); recall per class:
${Object.entries(lesions.perClass)
  .map(([code, m]) => `${code} ${pct(m.recall)}`)
  .join(', ')}. These are few photos from one clinic in Brazil, so the figures are rough.
${comparisonTable(gate.test.clinicalLesionsCompared)}
**What this means for you.** If you take a picture of a spot with your phone or laptop camera without a dermatoscope,
DermLens will most likely say it is an ordinary photo of skin and not give you a lesion answer up front, and you should
not rely on the answer behind "Show the result anyway": on such photos it is close to guessing. About
${pct(1 - c.rate)} of such photos still pass as dermoscopic and get an answer with no warning. To use DermLens as
intended, take the picture through a dermatoscope (for example a phone or webcam dermatoscope attachment). Whatever
DermLens says, show a doctor any spot that is new, changing or worrying.

`;
}

/**
 * Issue 20's question, can the classifier learn phone photos: the shipped classifier beside other runs (the same
 * recipe with and without phone photos in training) on the same held-out photos and on dermoscopic validation.
 */
function comparisonTable(rows: GateReport['test']['clinicalLesionsCompared']): string {
  if (!rows?.length) return '';
  const [shipped, ...others] = rows;
  const interval = (c: ClinicalComparison) =>
    c.lesions.interval ? ` (${c.lesions.interval.low.toFixed(2)}-${c.lesions.interval.high.toFixed(2)})` : '';
  const external = (c: ClinicalComparison) =>
    c.external
      ? `${num(c.external.balancedAccuracy)} | ${c.external.melanomaAlertRecall === null ? '-' : pct(c.external.melanomaAlertRecall)}`
      : '- | -';
  return `
**Can the classifier learn phone photos?** The shipped classifier (${shipped.run}) beside ${others.map((c) => c.run).join(', ')}, scored on the
same held-out photos and, for dermoscopic images, on HAM10000 validation and the external set of other clinics
(balanced accuracy over its classes; the melanoma alert at each model's own validation-chosen threshold):

| classifier | phone photos trained on | held-out phone photos: balanced accuracy (95% interval) | HAM10000 validation | external | external melanomas alerted |
|---|---|---|---|---|---|
${rows.map((c) => `| ${c.run}${c === shipped ? ' (shipped)' : ''} | ${c.photosTrained} | ${num(c.lesions.balancedAccuracy)}${interval(c)} | ${num(c.valBalancedAccuracy)} | ${external(c)} |`).join('\n')}

A classifier's answer on a clinical photo would be shown, with its measured reliability, only if the shipped one reached
a balanced accuracy of at least 0.55 on held-out phone photos without losing anything on dermoscopic images (validation
and the external set, the melanoma alert included). ${
    shipped.lesions.balancedAccuracy >= 0.55
      ? 'The shipped classifier reaches 0.55 on phone photos; in this version its answer on them is still folded.'
      : 'The shipped classifier does not, so the answer stays folded; a run that learned phone photos is listed above with what it cost on dermoscopic images.'
  }
`;
}

/** "## Out-of-scope images": the gate's method and its held-out rates. */
export function outOfScopeSection(gate: AnyGate): string {
  const threeWay = isThreeWay(gate);
  return `## Out-of-scope images: "This does not look like a dermoscopic image"
A lesion classifier answers every image with a lesion class, so DermLens first asks whether the image looks like
a dermoscopic image of a skin lesion at all. Method: ${gate.method}. An image whose P(dermoscopic) is below
**${gate.threshold.toFixed(4)}** is reported as not dermoscopic (the CLI warns; the card and popup lead with it and fold the
class bars away). The threshold is the highest that flags at most ${pct(gate.targetValFlagRate)} of the HAM10000 validation
images (validation: ${pct(gate.val.ham.rate)} of HAM10000 and ${pct(gate.val.ood.rate)} of the non-dermoscopic images flagged).

| held out, scored once | flagged |
|---|---|
| HAM10000 test split | ${of(gate.test.ham)} |
${Object.entries(gate.test.hamPerClass)
  .map(([c, f]) => `| HAM10000 test, ${c} | ${of(f)} |`)
  .join('\n')}
${gate.test.hamFieldOfView ? `| HAM10000 test split with a round field of view (centred circle of the height) | ${of(gate.test.hamFieldOfView)} |\n` : ''}${
    threeWay
      ? Object.entries(gate.test.external)
          .map(([name, f]) => `| external dermoscopic collection ${name} (never trained on) | ${of(f)} |\n`)
          .join('')
      : ''
  }| non-dermoscopic images, held-out part of every source | ${of(gate.test.ood)}${threeWay ? `; named "other" ${named(gate.test.ood as KindRate)}` : ''} |
${Object.entries(gate.test.oodPerSource)
  .map(([src, f]) => `| non-dermoscopic, ${src} | ${of(f)} |`)
  .join('\n')}

Training negatives per source: ${Object.entries(gate.training.notDermoscopicPerSource)
    .map(([src, n]) => `${src} ${n}`)
    .join(', ')}
(\`node --import tsx scripts/build-ood-set.ts\` rebuilds the set; the images are not in the repository).${
    threeWay
      ? ' Clinical photos of skin are the third kind, see "Phone and clinical photos".'
      : ` Clinical
(non-dermoscopic) photos of skin lesions were not among the negatives, so the gate says nothing reliable about them.`
  }

`;
}
