// Entry of the card webview's bundle (dist/card-webview.js).
import './dermlens-vscode-result.ts';
