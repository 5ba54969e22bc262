// The folder table's panel: the rows of the last folder classified; a row click opens its card, the
// export buttons save the rows (classify --json's fields) where the user says.
import * as vscode from 'vscode';
import { basename, join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { recordsCsv, recordsJson } from '../host/folder-results.ts';
import type { FolderMessage, FolderRequest } from '../webview-messages.ts';
import { LatestStatePanel } from './latest-state-panel.ts';

export class FolderPanel {
  private readonly panel: LatestStatePanel<FolderMessage>;
  private folder: vscode.Uri | null = null;
  private latest: FolderMessage | null = null;

  constructor(
    extensionUri: vscode.Uri,
    private readonly openCard: (file: vscode.Uri) => unknown,
  ) {
    this.panel = new LatestStatePanel(
      'dermlens.folder',
      extensionUri,
      { title: 'DermLens folder', script: 'folder-webview.js', body: '<dermlens-folder-table></dermlens-folder-table>' },
      (request) => void this.onRequest(request as FolderRequest),
    );
  }

  show(folder: vscode.Uri, message: FolderMessage): void {
    this.folder = folder;
    this.latest = message;
    this.panel.show(`DermLens: ${basename(folder.fsPath)}`);
    this.panel.post(message);
  }

  private async onRequest(request: FolderRequest): Promise<void> {
    if (!this.folder || !this.latest) return;
    if (request.type === 'open') await this.openCard(vscode.Uri.file(join(this.folder.fsPath, request.file)));
    else await this.export(request.format);
  }

  /** Asks where to save (default: beside the folder's images) and writes the rows there. */
  async export(format: 'csv' | 'json'): Promise<void> {
    const folder = this.folder!;
    const records = this.latest!.rows.map((r) => r.record);
    const target = await vscode.window.showSaveDialog({
      defaultUri: vscode.Uri.joinPath(folder, `dermlens-${basename(folder.fsPath)}.${format}`),
      filters: format === 'csv' ? { CSV: ['csv'] } : { JSON: ['json'] },
      saveLabel: `Export ${format.toUpperCase()}`,
    });
    if (!target) return;
    await writeFile(target.fsPath, format === 'csv' ? recordsCsv(records) : recordsJson(records));
    void vscode.window.showInformationMessage(`DermLens: exported ${records.length} results to ${target.fsPath}`);
  }
}
