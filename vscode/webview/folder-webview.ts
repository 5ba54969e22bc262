// Entry of the folder table webview's bundle (dist/folder-webview.js).
import './dermlens-folder-table.ts';
