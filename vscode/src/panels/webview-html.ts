// The HTML of every DermLens webview, as the VS Code webview samples write it: one script from the
// extension's dist/ (asWebviewUri), allowed by a fresh nonce in a strict Content-Security-Policy.
import * as vscode from 'vscode';
import { randomBytes } from 'node:crypto';

export interface WebviewPage {
  title: string;
  /** The bundle in dist/ that renders the page (e.g. 'card-webview.js'). */
  script: string;
  /** The page's one element (the bundle defines it). */
  body: string;
}

export function webviewHtml(webview: vscode.Webview, extensionUri: vscode.Uri, page: WebviewPage): string {
  const nonce = randomBytes(16).toString('base64');
  const script = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', page.script));
  // Styles: Lit's constructable stylesheets need no source, but the card's bars are sized with style
  // attributes, which CSP counts as inline styles. Images: the classified file (a webview resource URI)
  // and the heatmap canvas.
  const csp = [
    "default-src 'none'",
    `img-src ${webview.cspSource} data: blob:`,
    `style-src ${webview.cspSource} 'unsafe-inline'`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>${escapeHtml(page.title)}</title>
</head>
<body>
${page.body}
<script type="module" nonce="${nonce}" src="${script}"></script>
</body>
</html>`;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
