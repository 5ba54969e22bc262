// "DermLens: Classify skin lesion": the file right-clicked in the Explorer, the image open in the
// editor (editor title button, or the palette with an image open), or one picked in a dialog.
import * as vscode from 'vscode';
import type { CardPanel } from '../panels/card-panel.ts';

/** The file behind the active tab: a text editor's document or a custom editor's (the image preview). */
function activeTabFile(): vscode.Uri | undefined {
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  if (input instanceof vscode.TabInputText || input instanceof vscode.TabInputCustom) return input.uri;
  return undefined;
}

export function classifyImageCommand(card: CardPanel) {
  return async (uri?: vscode.Uri): Promise<unknown> => {
    let file = uri instanceof vscode.Uri ? uri : activeTabFile();
    if (!file || file.scheme !== 'file') {
      const picked = await vscode.window.showOpenDialog({
        canSelectMany: false,
        openLabel: 'Classify',
        title: 'DermLens: choose a skin-lesion image',
        filters: { Images: ['jpg', 'jpeg', 'png', 'webp', 'bmp', 'gif', 'avif'] },
      });
      file = picked?.[0];
    }
    if (!file) return undefined;
    return card.classify(file);
  };
}
