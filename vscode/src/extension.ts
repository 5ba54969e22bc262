// The DermLens VS Code extension: activate() registers the commands (each in its own module), the
// training task provider and the warm model they share; nothing is loaded until a command runs.
import * as vscode from 'vscode';
import { classifyFolderCommand } from './commands/classify-folder.ts';
import { classifyImageCommand } from './commands/classify-image.ts';
import { openRunCommand } from './commands/open-run.ts';
import { trainModelCommand, trainTaskProvider } from './commands/train-model.ts';
import { DermlensHost } from './host/dermlens-host.ts';
import { CardPanel } from './panels/card-panel.ts';
import { FolderPanel } from './panels/folder-panel.ts';

export function activate(context: vscode.ExtensionContext): void {
  const host = new DermlensHost(context.extensionUri);
  const card = new CardPanel(host);
  const table = new FolderPanel(context.extensionUri, (file) => card.classify(file));
  context.subscriptions.push(
    host,
    vscode.commands.registerCommand('dermlens.classifyImage', classifyImageCommand(card)),
    vscode.commands.registerCommand('dermlens.classifyFolder', classifyFolderCommand(host, table)),
    vscode.commands.registerCommand('dermlens.trainModel', trainModelCommand()),
    vscode.commands.registerCommand('dermlens.openRun', openRunCommand(context.extensionUri)),
    vscode.tasks.registerTaskProvider('dermlens', trainTaskProvider),
    // A new model setting: the next classification loads that model (and frees the old one).
    vscode.workspace.onDidChangeConfiguration((e) => e.affectsConfiguration('dermlens.modelPath') && host.models.dispose()),
  );
}

export function deactivate(): void {}
