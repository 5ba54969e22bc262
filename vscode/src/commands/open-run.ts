// "DermLens: Open training run": a run folder's report (report.html) or a model card (MODEL_CARD.md,
// in VS Code's Markdown preview), whichever it has.
import * as vscode from 'vscode';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { REPORT_FILE } from '../../../trainer/run/layout.ts';
import { reportPanelHtml } from '../panels/report-html.ts';
import { targetFolder } from './target-folder.ts';

const MODEL_CARD_FILE = 'MODEL_CARD.md';

export function openRunCommand(extensionUri: vscode.Uri) {
  return async (uri?: vscode.Uri): Promise<string | undefined> => {
    const folder = await targetFolder(uri, 'Open run');
    if (!folder) return undefined;
    const dir = folder.fsPath;
    const items = [
      { label: 'Report', description: REPORT_FILE, file: join(dir, REPORT_FILE) },
      { label: 'Model card', description: MODEL_CARD_FILE, file: join(dir, MODEL_CARD_FILE) },
    ].filter((item) => existsSync(item.file));
    if (items.length === 0) {
      void vscode.window.showWarningMessage(
        `DermLens: ${dir} has no ${REPORT_FILE} or ${MODEL_CARD_FILE}. Pick a run folder (dermlens train --out), or write its report with: dermlens report --run ${dir}`,
      );
      return undefined;
    }
    const item = items.length === 1 ? items[0] : await vscode.window.showQuickPick(items, { title: `DermLens: open ${basename(dir)}` });
    if (!item) return undefined;
    if (item.description === MODEL_CARD_FILE) {
      await vscode.commands.executeCommand('markdown.showPreview', vscode.Uri.file(item.file));
      return item.file;
    }
    const panel = vscode.window.createWebviewPanel('dermlens.report', `DermLens report: ${basename(dir)}`, vscode.ViewColumn.Active, {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist')],
    });
    panel.webview.html = reportPanelHtml(await readFile(item.file, 'utf8'));
    return item.file;
  };
}
