// A run's report.html (trainer/evaluate/report-html.ts: Chart.js and the data inlined, no external
// file) in a webview: the same page, with a CSP that lets only its own inline scripts run (a nonce on
// each) and loads nothing from anywhere.
import { randomBytes } from 'node:crypto';

export function reportPanelHtml(report: string): string {
  const nonce = randomBytes(16).toString('base64');
  const csp = `default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'nonce-${nonce}'`;
  return report
    .replace(/<script(?=[\s>])/g, `<script nonce="${nonce}"`)
    .replace(/<head>/i, `<head><meta http-equiv="Content-Security-Policy" content="${csp}">`);
}
