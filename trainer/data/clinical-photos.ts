// A folder of clinical photos of skin lesions (taken without a dermatoscope: phone or camera close-ups),
// in PAD-UFES-20's layout: metadata.csv with patient_id and img_id columns, images/<img_id>.jpg (or the
// published .png). `dermlens fit-gate` reads them as the gate's "clinical" kind.
//
// The photos are dealt to train / val / heldout by patient, never by photo: several photos can show one
// lesion of one patient (and PAD-UFES-20's lesion_id numbers repeat across patients, so they cannot be
// the key). The part is a pure function of the patient id, the first 32 bits of its sha256 as a fraction
// of 2^32: below 0.6 train, below 0.8 val, else heldout. Deterministic, independent of the photos' order,
// and a patient added later never moves the others.
import { createHash } from 'node:crypto';
import { access, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { parseCsv } from './csv.ts';
import { CLASS_CODES, type ClassCode } from '../../core/labels.ts';
import type { LabelledImage } from './metadata.ts';

export const CLINICAL_PARTS = ['train', 'val', 'heldout'] as const;
export type ClinicalPart = (typeof CLINICAL_PARTS)[number];

/** Upper bounds of the train and val parts on the patient-id hash fraction (the rest is heldout). */
export const CLINICAL_SPLIT = { train: 0.6, val: 0.8 } as const;

export const CLINICAL_SPLIT_RULE =
  `by patient: the first 32 bits of sha256(patient_id) as a fraction of 2^32; below ${CLINICAL_SPLIT.train} train, ` +
  `below ${CLINICAL_SPLIT.val} val, else heldout (every photo of a patient on one side)`;

/**
 * PAD-UFES-20's diagnoses in DermLens' classes, for scoring the lesion classifier on the photos. SCC is left
 * out: it covers Bowen's disease (akiec) but also invasive squamous cell carcinoma, which no class covers.
 */
export const PAD_DIAGNOSIS_CLASS: Readonly<Record<string, ClassCode>> = Object.freeze({
  ACK: 'akiec',
  BCC: 'bcc',
  MEL: 'mel',
  NEV: 'nv',
  SEK: 'bkl',
});

export interface ClinicalPhoto {
  /** Path relative to the folder. */
  file: string;
  patientId: string;
  /** The folder's own diagnosis label (e.g. PAD-UFES-20's ACK, BCC...), kept for reports. */
  diagnostic: string;
  part: ClinicalPart;
}

/** The part of a patient's photos (see the file comment). */
export function clinicalPartOf(patientId: string): ClinicalPart {
  const fraction = createHash('sha256').update(patientId).digest().readUInt32BE(0) / 2 ** 32;
  return fraction < CLINICAL_SPLIT.train ? 'train' : fraction < CLINICAL_SPLIT.val ? 'val' : 'heldout';
}

/** Reads the folder's metadata.csv and finds each photo (images/<id>.jpg, else the .png named in img_id). */
export async function readClinicalPhotos(dir: string): Promise<ClinicalPhoto[]> {
  const path = join(dir, 'metadata.csv');
  const text = await readFile(path, 'utf8').catch(() => {
    throw new Error(
      `${path} not found: --clinical needs a folder of clinical skin photos with a metadata.csv (patient_id, img_id) and images/, e.g. ../shared/pad-ufes-20`,
    );
  });
  return parseClinicalPhotos(text, path, dir);
}

/** Parses a clinical-photo metadata.csv (`path` names it in messages) and finds each photo below `dir`. */
export async function parseClinicalPhotos(text: string, path: string, dir: string): Promise<ClinicalPhoto[]> {
  const [header, ...records] = parseCsv(text, path);
  const column = (name: string) => {
    const i = header?.fields.indexOf(name) ?? -1;
    if (i < 0) throw new Error(`${path}: no "${name}" column (needs patient_id, img_id; diagnostic is optional)`);
    return i;
  };
  const [patient, image] = [column('patient_id'), column('img_id')];
  const diagnostic = header!.fields.indexOf('diagnostic');
  const photos: ClinicalPhoto[] = [];
  for (const r of records) {
    const [patientId, imgId] = [r.fields[patient], r.fields[image]];
    if (!patientId || !imgId) throw new Error(`${path}:${r.line}: needs a patient_id and an img_id`);
    const jpg = join('images', imgId.replace(/\.png$/i, '.jpg'));
    const file = await access(join(dir, jpg)).then(
      () => jpg,
      () => join('images', imgId),
    );
    photos.push({ file, patientId, diagnostic: diagnostic < 0 ? '' : (r.fields[diagnostic] ?? ''), part: clinicalPartOf(patientId) });
  }
  return photos;
}

/** The collection name a photo's part gets when the folder is read as labelled images (evaluate, --extra-data). */
export const patientsCollection = (part: ClinicalPart) => `patients-${part}`;

/**
 * The photos whose diagnosis is a DermLens class, as labelled images: the image id is the file's name without
 * its extension, the lesion id the patient (so a split or a bootstrap keeps a patient's photos together), the
 * collection the patient's part (patients-train / patients-val / patients-heldout). The other diagnoses
 * (PAD-UFES-20's SCC) are left out.
 */
export function clinicalLabelledImages(photos: readonly ClinicalPhoto[]): LabelledImage[] {
  return photos.flatMap((photo) => {
    const code = PAD_DIAGNOSIS_CLASS[photo.diagnostic];
    if (!code) return [];
    return [
      {
        imageId: basename(photo.file).replace(/\.[^.]+$/, ''),
        lesionId: `patient ${photo.patientId}`,
        label: CLASS_CODES.indexOf(code),
        dataset: patientsCollection(photo.part),
      },
    ];
  });
}

/** Whether a CSV header is a clinical-photo metadata file (PAD-UFES-20's layout) rather than a labels.csv. */
export function isClinicalMetadata(csvText: string): boolean {
  const header = csvText.slice(0, csvText.search(/\r?\n|$/)).split(',');
  return header.includes('patient_id') && header.includes('img_id');
}
