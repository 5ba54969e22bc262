// A model that cannot be loaded: the message (it names the path) with a button to the setting.
import * as vscode from 'vscode';
import { MODEL_PATH_SETTING } from '../host/settings.ts';

export function showModelError(message: string): void {
  void vscode.window.showErrorMessage(`DermLens: ${message}`, 'Open Settings').then((choice) => {
    if (choice) void vscode.commands.executeCommand('workbench.action.openSettings', MODEL_PATH_SETTING);
  });
}
