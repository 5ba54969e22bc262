// The result card's panel: classifies one file with the warm model and shows the browser's card for it
// (or the CLI's refusal message).
import * as vscode from 'vscode';
import { basename } from 'node:path';
import { errorMessage } from '../../../extension/shared/messages.ts';
import { classifyFile } from '../host/classify-file.ts';
import { ModelPathError } from '../host/model-host.ts';
import { showModelError } from '../commands/model-error.ts';
import type { DermlensHost } from '../host/dermlens-host.ts';
import type { CardMessage } from '../webview-messages.ts';
import { LatestStatePanel } from './latest-state-panel.ts';

export class CardPanel {
  private readonly panel: LatestStatePanel<CardMessage>;
  /** Only the latest request updates the card (a slow earlier one must not overwrite it). */
  private generation = 0;

  constructor(private readonly host: DermlensHost) {
    this.panel = new LatestStatePanel('dermlens.card', host.extensionUri, {
      title: 'DermLens result',
      script: 'card-webview.js',
      body: '<dermlens-vscode-result></dermlens-vscode-result>',
    });
  }

  /** Shows the card for `file` (loading, then the result or the refusal); resolves to what it showed. */
  async classify(file: vscode.Uri): Promise<CardMessage> {
    const generation = ++this.generation;
    const name = vscode.workspace.asRelativePath(file, false);
    this.panel.show(`DermLens: ${basename(file.fsPath)}`, [vscode.Uri.joinPath(file, '..')]);
    const imageUri = this.panel.asWebviewUri(file);
    this.panel.post({ type: 'loading', file: name, imageUri });
    let message: CardMessage;
    try {
      const model = await this.host.model();
      message = { type: 'result', file: name, imageUri, result: await classifyFile(file.fsPath, model) };
    } catch (error) {
      // A refused file shows no picture: the webview could not draw it either (or must not: SVG).
      message = { type: 'error', file: name, imageUri: null, error: errorMessage(error) };
      if (error instanceof ModelPathError) showModelError(error.message);
    }
    if (generation === this.generation) this.panel.post(message);
    return message;
  }
}
