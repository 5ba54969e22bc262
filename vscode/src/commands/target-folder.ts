// The folder a folder command works on: the one right-clicked in the Explorer, else one picked in a dialog.
import * as vscode from 'vscode';

export async function targetFolder(uri: unknown, openLabel: string): Promise<vscode.Uri | undefined> {
  if (uri instanceof vscode.Uri) return uri;
  const picked = await vscode.window.showOpenDialog({ canSelectFiles: false, canSelectFolders: true, openLabel });
  return picked?.[0];
}
