// A webview panel that always shows the latest state the host gave it: the webview says 'ready' once
// its script runs (messages posted before then are lost), and gets the latest message again then.
import * as vscode from 'vscode';
import { webviewHtml, type WebviewPage } from './webview-html.ts';

export class LatestStatePanel<Message> {
  private panel: vscode.WebviewPanel | null = null;
  private latest: Message | null = null;

  constructor(
    private readonly viewType: string,
    private readonly extensionUri: vscode.Uri,
    private readonly page: WebviewPage,
    private readonly onRequest: (request: { type: string } & Record<string, unknown>) => void = () => undefined,
  ) {}

  /** Opens (or reveals) the panel, allowed to read the extension's dist/ and `roots`, titled `title`. */
  show(title: string, roots: vscode.Uri[] = []): void {
    const options = { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'dist'), ...roots] };
    if (!this.panel) {
      this.panel = vscode.window.createWebviewPanel(this.viewType, title, vscode.ViewColumn.Active, {
        ...options,
        retainContextWhenHidden: true,
      });
      this.panel.webview.html = webviewHtml(this.panel.webview, this.extensionUri, this.page);
      this.panel.webview.onDidReceiveMessage((request: { type: string } & Record<string, unknown>) => {
        if (request.type === 'ready') {
          if (this.latest) void this.panel?.webview.postMessage(this.latest);
        } else this.onRequest(request);
      });
      this.panel.onDidDispose(() => (this.panel = null));
    } else {
      this.panel.webview.options = options;
      this.panel.title = title;
      this.panel.reveal();
    }
  }

  post(message: Message): void {
    this.latest = message;
    void this.panel?.webview.postMessage(message);
  }

  /** A file as the webview may load it (the panel's localResourceRoots must cover it). */
  asWebviewUri(uri: vscode.Uri): string {
    return this.panel ? this.panel.webview.asWebviewUri(uri).toString() : '';
  }
}
