// Reads the label files the trainer accepts: HAM10000_metadata.csv (one row per image, dx column)
// and the ISIC 2018 Task 3 ground truth (one-hot columns). Every error names the file and line.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { exists } from '../run/json.ts';
import { CLASS_CODES, classIndex } from '../../core/labels.ts';
import { parseCsv, type CsvRecord } from './csv.ts';

export interface LabelledImage {
  imageId: string;
  /** Images of the same lesion must stay on one side of a split. ISIC ground truth has no lesion ids, so there lesionId = imageId. */
  lesionId: string;
  /** Index into CLASS_CODES. */
  label: number;
  /**
   * The data folder the image came from (its folder name, e.g. 'ham10000', 'isic-extra'), set when a run
   * reads several (trainer/data/sources.ts); absent for a single folder.
   */
  source?: string;
  /** The collection inside that folder, from a `dataset` column (isic-extra: 'msk', 'ph2', 'isic2017', ...). */
  dataset?: string;
}

/** ISIC 2018 Task 3 column name -> our class code. */
const ISIC_COLUMNS: Readonly<Record<string, string>> = {
  MEL: 'mel',
  NV: 'nv',
  BCC: 'bcc',
  AKIEC: 'akiec',
  BKL: 'bkl',
  DF: 'df',
  VASC: 'vasc',
};

function fail(fileName: string, line: number, problem: string): never {
  throw new Error(`${fileName}:${line}: ${problem}`);
}

interface Table {
  header: string[];
  headerLine: number;
  rows: CsvRecord[];
}

function readTable(csvText: string, fileName: string): Table {
  if (csvText.replace(/^\uFEFF/, '').trim() === '') fail(fileName, 1, 'the file is empty (expected a CSV header line)');
  const records = parseCsv(csvText, fileName);
  const [head, ...rows] = records;
  const header = head.fields.map((h) => h.trim());
  if (rows.length === 0) fail(fileName, head.line, 'the file has a header but no data rows');
  for (const row of rows) {
    if (row.fields.length !== header.length) {
      fail(fileName, row.line, `malformed row: expected ${header.length} fields like the header, found ${row.fields.length}`);
    }
  }
  return { header, headerLine: head.line, rows };
}

/** Column index by header name (case-insensitive), or -1. */
function columnOf(header: string[], name: string): number {
  return header.findIndex((h) => h.toLowerCase() === name.toLowerCase());
}

function requireColumns(table: Table, fileName: string, names: string[]): number[] {
  const indices = names.map((n) => columnOf(table.header, n));
  const missing = names.filter((_, k) => indices[k] < 0);
  if (missing.length > 0) {
    fail(
      fileName,
      table.headerLine,
      `missing required column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (header has: ${table.header.join(', ')})`,
    );
  }
  return indices;
}

function requireValue(row: CsvRecord, col: number, name: string, fileName: string): string {
  const value = row.fields[col].trim();
  if (value === '') fail(fileName, row.line, `empty ${name}`);
  return value;
}

function checkUnique(seen: Map<string, number>, imageId: string, line: number, fileName: string, column: string): void {
  const first = seen.get(imageId);
  if (first !== undefined) fail(fileName, line, `duplicate ${column} ${imageId} (first listed on line ${first})`);
  seen.set(imageId, line);
}

/**
 * Rows of image_id + dx, with lesion_id and dataset columns read when present. HAM10000's metadata must
 * give every row a lesion_id (its split depends on it); other label files (isic-extra's labels.csv) may
 * leave it empty, and such an image is its own lesion until near-duplicate grouping says otherwise.
 */
function parseHamTable(table: Table, fileName: string, lesionIds: 'required' | 'optional'): LabelledImage[] {
  const [lesionCol, imageCol, dxCol] =
    lesionIds === 'required'
      ? requireColumns(table, fileName, ['lesion_id', 'image_id', 'dx'])
      : [columnOf(table.header, 'lesion_id'), ...requireColumns(table, fileName, ['image_id', 'dx'])];
  const datasetCol = columnOf(table.header, 'dataset');
  const seen = new Map<string, number>();
  return table.rows.map((row) => {
    const imageId = requireValue(row, imageCol, 'image_id', fileName);
    const lesionId =
      lesionIds === 'required'
        ? requireValue(row, lesionCol, 'lesion_id', fileName)
        : (lesionCol >= 0 && row.fields[lesionCol].trim()) || imageId;
    const dx = requireValue(row, dxCol, 'dx', fileName);
    const label = classIndex(dx);
    if (label < 0) fail(fileName, row.line, `unknown dx code ${JSON.stringify(dx)} (expected one of ${CLASS_CODES.join(', ')})`);
    checkUnique(seen, imageId, row.line, fileName, 'image_id');
    const dataset = datasetCol >= 0 ? row.fields[datasetCol].trim() : '';
    return { imageId, lesionId, label, ...(dataset ? { dataset } : {}) };
  });
}

/** Parses HAM10000_metadata.csv (lesion_id,image_id,dx,dx_type,age,sex,localization; columns found by name). */
export function parseHamMetadata(csvText: string, fileName: string): LabelledImage[] {
  return parseHamTable(readTable(csvText, fileName), fileName, 'required');
}

function parseIsicTable(table: Table, fileName: string): LabelledImage[] {
  const isicNames = Object.keys(ISIC_COLUMNS);
  const [imageCol, ...classCols] = requireColumns(table, fileName, ['image', ...isicNames]);
  const labelOfColumn = isicNames.map((name) => classIndex(ISIC_COLUMNS[name]));
  // Columns that are not one of the seven (e.g. a later challenge's UNK) must be 0 in every row.
  const known = new Set([imageCol, ...classCols]);
  const extraCols = table.header.map((_, k) => k).filter((k) => !known.has(k));
  const seen = new Map<string, number>();

  const readFlag = (row: CsvRecord, col: number): boolean => {
    const raw = row.fields[col].trim();
    const value = raw === '' ? NaN : Number(raw);
    if (value !== 0 && value !== 1) {
      fail(fileName, row.line, `column ${table.header[col]} must be 0 or 1 (one-hot ground truth), found ${JSON.stringify(raw)}`);
    }
    return value === 1;
  };

  return table.rows.map((row) => {
    const imageId = requireValue(row, imageCol, 'image', fileName);
    const hot = classCols.map((col, k) => (readFlag(row, col) ? k : -1)).filter((k) => k >= 0);
    for (const col of extraCols) {
      if (readFlag(row, col))
        fail(fileName, row.line, `image ${imageId} is labelled ${table.header[col]}, which is not one of the seven classes`);
    }
    if (hot.length !== 1) {
      const which = hot.length === 0 ? 'none' : hot.map((k) => isicNames[k]).join(' and ');
      fail(fileName, row.line, `expected exactly one class column set to 1 for ${imageId}, found ${which}`);
    }
    checkUnique(seen, imageId, row.line, fileName, 'image');
    return { imageId, lesionId: imageId, label: labelOfColumn[hot[0]] };
  });
}

/**
 * Reads either label format, told apart by the header: HAM10000 metadata (image_id + dx) or
 * ISIC 2018 Task 3 ground truth (image + MEL,NV,BCC,AKIEC,BKL,DF,VASC one-hot floats).
 */
export function parseLabelsCsv(csvText: string, fileName: string): LabelledImage[] {
  const table = readTable(csvText, fileName);
  const has = (name: string) => columnOf(table.header, name) >= 0;
  if (has('image_id') && has('dx')) return parseHamTable(table, fileName, 'optional');
  if (has('image') && Object.keys(ISIC_COLUMNS).some(has)) return parseIsicTable(table, fileName);
  fail(
    fileName,
    table.headerLine,
    'unrecognised label file: expected HAM10000 metadata or a labels.csv (columns image_id,dx and optionally lesion_id,dataset) or ISIC 2018 Task 3 ground truth ' +
      `(columns image,${Object.keys(ISIC_COLUMNS).join(',')}); header has: ${table.header.join(', ')}`,
  );
}

export const METADATA_FILE = 'HAM10000_metadata.csv';

/** Finds HAM10000_metadata.csv in dataDir or one folder below it. */
export async function findMetadataFile(dataDir: string): Promise<string> {
  let entries;
  try {
    entries = await readdir(dataDir, { withFileTypes: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(
      code === 'ENOENT' ? `data folder not found: ${dataDir}` : `cannot read data folder ${dataDir}: ${(err as Error).message}`,
    );
  }
  if (entries.some((e) => e.isFile() && e.name === METADATA_FILE)) return join(dataDir, METADATA_FILE);
  for (const e of entries) {
    if (e.isDirectory() && (await exists(join(dataDir, e.name, METADATA_FILE)))) return join(dataDir, e.name, METADATA_FILE);
  }
  throw new Error(`${METADATA_FILE} not found in ${dataDir} (or a folder directly below it)`);
}
