// Messages between the extension host and its webviews (JSON through postMessage): the card's state,
// the folder table's rows, and what the table asks of the host. Shared by both sides' bundles.
import type { ClassifyRecord } from '../../core/classify-record.ts';
import type { ClassificationResult } from '../../extension/shared/messages.ts';

/** The card webview: what <dermlens-vscode-result> shows. */
export type CardMessage =
  | { type: 'loading'; file: string; imageUri: string }
  | { type: 'result'; file: string; imageUri: string; result: ClassificationResult }
  | { type: 'error'; file: string; imageUri: string | null; error: string };

/** One row of the folder table: the classify --json record, its file relative to the folder. */
export interface FolderRow {
  record: ClassifyRecord;
  /** Shown and sorted on: top class code and its probability (absent for a refused file). */
  top?: { code: string; name: string; probability: number };
  dermoscopic: boolean | null;
}

export type FolderMessage = { type: 'rows'; folder: string; rows: FolderRow[]; cancelled: boolean };

/** From the table webview. */
export type FolderRequest = { type: 'open'; file: string } | { type: 'export'; format: 'csv' | 'json' };
