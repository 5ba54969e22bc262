// The extension's settings: which model to classify with (dermlens.modelPath; empty = the model
// shipped in the extension) and how to run the dermlens CLI for training (dermlens.cli).
import * as vscode from 'vscode';
import { isAbsolute, join } from 'node:path';

export const MODEL_PATH_SETTING = 'dermlens.modelPath';

/** The model folder or model.json to use: the setting (relative to the first workspace folder) or the shipped one. */
export function configuredModelPath(extensionUri: vscode.Uri): string {
  const setting = vscode.workspace.getConfiguration('dermlens').get<string>('modelPath', '').trim();
  if (!setting) return join(extensionUri.fsPath, 'dist', 'model');
  if (isAbsolute(setting)) return setting;
  const root = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  return root ? join(root, setting) : setting;
}

/** The CLI command line, split into program and arguments (e.g. ['npx', 'dermlens']). */
export function configuredCli(): string[] {
  const words = vscode.workspace.getConfiguration('dermlens').get<string>('cli', 'npx dermlens').trim().split(/\s+/);
  return words.length && words[0] ? words : ['npx', 'dermlens'];
}
