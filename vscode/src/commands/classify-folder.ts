// "DermLens: Classify skin lesions in folder": every image below the folder, with a cancellable
// progress notification, then the sortable table (a cancelled run shows what it had done).
import * as vscode from 'vscode';
import { basename } from 'node:path';
import { errorMessage } from '../../../extension/shared/messages.ts';
import type { DermlensHost } from '../host/dermlens-host.ts';
import { folderRow, listImageFiles } from '../host/folder-results.ts';
import type { FolderPanel } from '../panels/folder-panel.ts';
import type { FolderMessage, FolderRow } from '../webview-messages.ts';
import { showModelError } from './model-error.ts';
import { targetFolder } from './target-folder.ts';

export function classifyFolderCommand(host: DermlensHost, table: FolderPanel) {
  return async (uri?: vscode.Uri): Promise<FolderMessage | undefined> => {
    const folder = await targetFolder(uri, 'Classify images');
    if (!folder) return undefined;
    const root = folder.fsPath;
    const message = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `DermLens: classifying ${basename(root)}`, cancellable: true },
      async (progress, token): Promise<FolderMessage | undefined> => {
        const files = await listImageFiles(root);
        let model;
        try {
          model = await host.model();
        } catch (error) {
          showModelError(errorMessage(error));
          return undefined;
        }
        const rows: FolderRow[] = [];
        for (const [i, file] of files.entries()) {
          if (token.isCancellationRequested) break;
          progress.report({ message: `${i + 1} of ${files.length}: ${basename(file)}`, increment: 100 / files.length });
          rows.push(await folderRow(root, file, model));
        }
        return { type: 'rows', folder: vscode.workspace.asRelativePath(folder, false), rows, cancelled: rows.length < files.length };
      },
    );
    if (message) table.show(folder, message);
    return message;
  };
}
