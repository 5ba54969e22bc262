// A folder's classification results: the image files in it (the formats the CLI reads, plus what it
// refuses by name, so a stray SVG gets its refusal in the table too), each as a classify --json record,
// and their CSV and JSON exports.
import { readdir } from 'node:fs/promises';
import { extname, join, relative } from 'node:path';
import { classifiedRecord, type ClassifyRecord } from '../../../core/classify-record.ts';
import { CLASS_CODES } from '../../../core/labels.ts';
import { errorMessage } from '../../../extension/shared/messages.ts';
import type { FolderRow } from '../webview-messages.ts';
import { classifyFile } from './classify-file.ts';
import type { LoadedModel } from './model-host.ts';

/** Extensions the folder command picks up: every format the CLI reads and the look-alikes it refuses. */
export const FOLDER_IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp', '.bmp', '.gif', '.avif', '.svg', '.tif', '.tiff', '.heic'];

/** Image files directly in `folder` or below it (hidden files and node_modules skipped), sorted. */
export async function listImageFiles(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile() && !e.name.startsWith('.') && FOLDER_IMAGE_EXTENSIONS.includes(extname(e.name).toLowerCase()))
    .map((e) => join(e.parentPath, e.name))
    .filter(
      (path) =>
        !relative(folder, path)
          .split(/[\\/]/)
          .some((part) => part.startsWith('.') || part === 'node_modules'),
    )
    .sort();
}

/** One file's row: the classify --json record (file relative to the folder) and what the table shows. */
export async function folderRow(folder: string, path: string, model: LoadedModel): Promise<FolderRow> {
  const file = relative(folder, path);
  try {
    const result = await classifyFile(path, model);
    const top = result.predictions[0];
    return {
      record: classifiedRecord(file, result.predictions, result.melanomaAlert, result.dermoscopy),
      top: { code: top.code, name: top.name, probability: top.probability },
      dermoscopic: result.dermoscopy?.dermoscopic ?? null,
    };
  } catch (error) {
    return { record: { file, error: errorMessage(error) }, dermoscopic: null };
  }
}

/** The rows as `dermlens classify --json` prints them, as one JSON array. */
export function recordsJson(records: readonly ClassifyRecord[]): string {
  return `${JSON.stringify(records, null, 1)}\n`;
}

const csvCell = (value: string | number | boolean | null) => {
  const text = value === null ? '' : String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
};

/**
 * The same fields as classify --json, flattened: file, dermoscopic, dermoscopyScore, melanomaAlert,
 * top, one column per class probability (CLASS_CODES order), error.
 */
export function recordsCsv(records: readonly ClassifyRecord[]): string {
  const header = ['file', 'dermoscopic', 'dermoscopyScore', 'melanomaAlert', 'top', ...CLASS_CODES, 'error'];
  const lines = records.map((r) => {
    if ('error' in r) return [r.file, null, null, null, null, ...CLASS_CODES.map(() => null), r.error];
    const p = CLASS_CODES.map((code) => r.predictions.find((x) => x.code === code)!.probability);
    return [r.file, r.dermoscopic, r.dermoscopyScore, r.melanomaAlert, r.predictions[0].code, ...p, null];
  });
  return `${[header, ...lines].map((cells) => cells.map(csvCell).join(',')).join('\n')}\n`;
}
