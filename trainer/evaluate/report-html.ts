// The per-run HTML training report (outDir/report.html): loss and metric curves per epoch, the
// confusion matrices as shaded tables, per-class metrics, and one-vs-rest ROC curves per class on val
// and test. Charts are drawn by Chart.js, whose UMD build is inlined so the file opens offline.
import { readFile, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { CLASSES, CLASS_CODES } from '../../core/labels.ts';
import { rocCurve, type Metrics } from '../../core/metrics.ts';
import type { EpochRecord, TrainConfig } from '../run/config.ts';
import { runPaths } from '../run/layout.ts';

/** The per-epoch history the report plots. */
export type ReportEpoch = EpochRecord;

/** Calibrated probabilities of the shipped inference mode, per split (written by train.ts as predictions.json). */
export interface SplitPredictions {
  imageIds: string[];
  labels: number[];
  probs: number[][];
}

export interface ReportInput {
  config: TrainConfig;
  history: ReportEpoch[];
  backend?: string;
  bestEpoch?: number;
  stoppedEarly?: boolean;
  /** Set for an ensemble run (dermlens ensemble): the member runs, which hold the training curves. */
  members?: string[];
  /** Set for a refit (dermlens train --refit-from): the validated run whose settings and validation numbers it carries. */
  refitFrom?: string;
  final?: {
    temperature: number;
    tta: 'none' | 'flip';
    val: Metrics;
    test: Metrics;
    valEceUncalibrated: number;
    variants?: Record<string, Metrics>;
    quantized?: { dtype: string; dir: string; test: Metrics };
    /** Runs trained with --extra-data: the external validation set, whole and per collection. */
    external?: { all: Metrics; byCollection: Record<string, Metrics> };
  };
  predictions?: { val: SplitPredictions; test: SplitPredictions };
}

export interface RocSeries {
  code: string;
  auc: number | null;
  fpr: number[];
  tpr: number[];
}

/** Keeps at most maxPoints of a curve (always the first and last), so the report stays small. */
export function thinCurve(fpr: number[], tpr: number[], maxPoints = 300): { fpr: number[]; tpr: number[] } {
  if (fpr.length <= maxPoints) return { fpr, tpr };
  const step = (fpr.length - 1) / (maxPoints - 1);
  const keep = Array.from({ length: maxPoints }, (_, i) => Math.round(i * step));
  return { fpr: keep.map((i) => fpr[i]), tpr: keep.map((i) => tpr[i]) };
}

/** One-vs-rest ROC curve per class present on both sides of the split. */
export function rocSeries(preds: SplitPredictions, metrics?: Metrics): RocSeries[] {
  return CLASS_CODES.flatMap((code, c) => {
    const isPositive = preds.labels.map((y) => y === c);
    const positives = isPositive.filter(Boolean).length;
    if (positives === 0 || positives === isPositive.length) return [];
    const curve = rocCurve(
      isPositive,
      preds.probs.map((p) => p[c]),
    );
    return [{ code, auc: metrics?.perClass[code].auc ?? null, ...thinCurve(curve.fpr, curve.tpr) }];
  });
}

/** Path of Chart.js' UMD build. Its package "exports" hide dist/, so go from the main entry's folder. */
function chartJsSource(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('chart.js')), 'chart.umd.js');
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);
const fmt = (v: number | null | undefined, digits = 3) => (v === null || v === undefined || Number.isNaN(v) ? 'n/a' : v.toFixed(digits));

/** Confusion matrix as a table; each cell is shaded by its share of the true class's row. */
export function confusionTable(m: Metrics, caption: string): string {
  const head = `<tr><th>true \\ predicted</th>${m.classes.map((c) => `<th>${c}</th>`).join('')}<th>recall</th></tr>`;
  const rows = m.confusion
    .map((row, i) => {
      const total = row.reduce((a, b) => a + b, 0);
      const cells = row
        .map((v, j) => {
          const share = total ? v / total : 0;
          const colour = i === j ? '34, 139, 84' : '200, 60, 50';
          const text = share > 0.55 ? '#fff' : '#111';
          return `<td style="background: rgba(${colour}, ${share.toFixed(3)}); color: ${text}" title="${(share * 100).toFixed(1)}% of ${m.classes[i]}">${v}</td>`;
        })
        .join('');
      return `<tr><th>${m.classes[i]}</th>${cells}<td>${fmt(m.perClass[m.classes[i]].recall)}</td></tr>`;
    })
    .join('\n');
  return `<table class="confusion"><caption>${escapeHtml(caption)}</caption>${head}\n${rows}</table>`;
}

function perClassTable(m: Metrics, caption: string): string {
  const rows = m.classes
    .map((code) => {
      const c = m.perClass[code];
      const name = CLASSES.find((k) => k.code === code)?.name ?? code;
      return `<tr><th title="${escapeHtml(name)}">${code}</th><td>${fmt(c.precision)}</td><td>${fmt(c.recall)}</td><td>${fmt(c.f1)}</td><td>${fmt(c.auc)}</td><td>${c.support}</td></tr>`;
    })
    .join('\n');
  return `<table><caption>${escapeHtml(caption)}</caption><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th><th>AUC</th><th>support</th></tr>\n${rows}</table>`;
}

function summaryRow(label: string, m: Metrics): string {
  return `<tr><th>${escapeHtml(label)}</th><td>${m.n}</td><td>${fmt(m.accuracy)}</td><td>${fmt(m.balancedAccuracy)}</td><td>${fmt(m.macroF1)}</td><td>${fmt(m.macroAuc)}</td><td>${fmt(m.ece)}</td></tr>`;
}

/** The complete, self-contained HTML document. */
export function renderReport(input: ReportInput, chartJs: string): string {
  const { config, history, final } = input;
  const data = {
    epochs: history.map((h) => h.epoch),
    loss: history.map((h) => h.loss),
    valLoss: history.map((h) => h.valLoss),
    valBalancedAccuracy: history.map((h) => h.valBalancedAccuracy),
    // Only runs with --ema have it: the trained weights' own score beside the average's.
    valBalancedAccuracyRaw: history.some((h) => h.valBalancedAccuracyRaw !== undefined)
      ? history.map((h) => h.valBalancedAccuracyRaw ?? null)
      : null,
    // Only runs with --extra-data have it: the external validation set, every epoch.
    extBalancedAccuracy: history.some((h) => h.extBalancedAccuracy !== undefined)
      ? history.map((h) => h.extBalancedAccuracy ?? null)
      : null,
    valAccuracy: history.map((h) => h.valAccuracy),
    valMacroF1: history.map((h) => h.valMacroF1),
    valMacroAuc: history.map((h) => h.valMacroAuc),
    lr: history.map((h) => h.lr),
    refit: input.refitFrom !== undefined,
    roc: input.predictions
      ? {
          val: rocSeries(input.predictions.val, final?.val),
          test: rocSeries(input.predictions.test, final?.test),
        }
      : null,
  };
  // JSON inside <script>: escape '<' so no data can close the element.
  const json = JSON.stringify(data).replace(/</g, '\\u003c');
  const safeChartJs = chartJs.replace(/<\/script/gi, '<\\/script').replace(/\/\/# sourceMappingURL=.*$/m, '');
  const configRows = Object.entries(config)
    .map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(String(v))}</td></tr>`)
    .join('');
  const totalSeconds = history.reduce((a, h) => a + h.seconds, 0);
  // Other variants (e.g. without flip TTA) only when TTA was evaluated; otherwise they repeat the rows above.
  const variants =
    final?.variants && config.tta
      ? Object.entries(final.variants)
          .map(([k, m]) => summaryRow(`${k} (calibrated)`, m))
          .join('')
      : '';

  const refit = input.refitFrom;
  /** A refit's validation numbers are its reference run's: every caption that shows them says so. */
  const valCaption = (caption: string) => (refit ? `${caption} (the reference run's)` : caption);
  const provenanceNote = refit
    ? `This is a refit: ${escapeHtml(refit)}'s recipe trained on its train + validation images, last epoch kept. The temperature, the TTA mode, the melanoma threshold and the validation rows are that run's (it trained without the validation images); test was evaluated once.`
    : 'The temperature and the TTA mode were chosen on validation; test was evaluated once.';
  const finalSection = final
    ? `
<h2>Result (${input.members ? `ensemble of ${input.members.length} runs` : refit ? `refit, last epoch ${input.bestEpoch ?? '?'}` : `best epoch ${input.bestEpoch ?? '?'}`}, temperature ${fmt(final.temperature)}, test-time augmentation ${final.tta})</h2>
<table><tr><th></th><th>images</th><th>accuracy</th><th>balanced accuracy</th><th>macro F1</th><th>macro AUC</th><th>ECE</th></tr>
${summaryRow(valCaption('validation'), final.val)}${summaryRow('test', final.test)}${variants}
${final.quantized ? summaryRow(`test, ${final.quantized.dtype} weights`, final.quantized.test) : ''}${
        final.external
          ? [
              ['external validation (never trained on)', final.external.all] as const,
              ...Object.entries(final.external.byCollection).map(([c, m]) => [`external, ${c}`, m] as const),
            ]
              .map(([label, m]) => summaryRow(label, m))
              .join('')
          : ''
      }</table>
<p>Validation ECE before temperature scaling: ${fmt(final.valEceUncalibrated)}. ${provenanceNote}</p>
<div class="row">${confusionTable(final.test, 'Test confusion matrix (shading: share of the true class)')}${perClassTable(final.test, 'Test per-class metrics')}</div>
<div class="row">${confusionTable(final.val, valCaption('Validation confusion matrix'))}${perClassTable(final.val, valCaption('Validation per-class metrics'))}</div>
${data.roc ? '<h2>ROC curves (one vs rest)</h2><div class="row"><div class="chart"><canvas id="rocVal"></canvas></div><div class="chart"><canvas id="rocTest"></canvas></div></div>' : ''}`
    : '<p><strong>Training has not finished:</strong> no final evaluation yet.</p>';

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>DermLens training report: ${escapeHtml(config.arch)} ${config.size}px</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px; color: #111; max-width: 1400px; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 28px; }
table { border-collapse: collapse; margin: 8px 16px 16px 0; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
th { background: #f4f4f4; } caption { font-weight: 600; text-align: left; padding: 4px 0; }
table.confusion td { min-width: 44px; text-align: center; }
.row { display: flex; flex-wrap: wrap; align-items: flex-start; gap: 12px; }
.chart { width: 640px; height: 360px; }
.note { color: #555; }
</style></head><body>
<h1>DermLens training report</h1>
<p class="note">Run ${escapeHtml(config.outDir)} &middot; ${input.members ? `ensemble of ${input.members.length} trained runs` : `${history.length} epoch(s) in ${(totalSeconds / 60).toFixed(1)} min`}${input.backend ? ` on ${escapeHtml(input.backend)}` : ''}${input.stoppedEarly ? ' &middot; stopped early' : ''} &middot; generated ${new Date().toISOString()}.
Research and education only; not a medical device.</p>
${finalSection}
${
  input.members
    ? `<h2>Members</h2>
<p>This model averages the probabilities of ${input.members.length} trained networks; their training curves are in their own reports:</p>
<ul>${input.members.map((m) => `<li>${escapeHtml(runPaths(m).report)}</li>`).join('')}</ul>`
    : `<h2>Training curves</h2>
${refit ? `<p>No validation curves: a refit trains on the validation images. The recipe's validation curves are in ${escapeHtml(runPaths(refit).report)}.</p>` : ''}
<div class="row"><div class="chart"><canvas id="loss"></canvas></div>${refit ? '' : '<div class="chart"><canvas id="metrics"></canvas></div>'}<div class="chart"><canvas id="lr"></canvas></div></div>`
}
<h2>Configuration</h2>
<table>${configRows}</table>
<script>${safeChartJs}</script>
<script id="report-data" type="application/json">${json}</script>
<script>
const D = JSON.parse(document.getElementById('report-data').textContent);
const COLOURS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2'];
const line = (label, values, colour, extra = {}) => ({ label, data: values, borderColor: colour, backgroundColor: colour, pointRadius: 2, tension: 0, ...extra });
const xEpoch = { title: { display: true, text: 'epoch' } };
if (document.getElementById('loss')) {
new Chart(document.getElementById('loss'), { type: 'line', data: { labels: D.epochs, datasets: [
  line('train loss', D.loss, COLOURS[0]), ...(D.valLoss.some((v) => v !== null) ? [line('val loss (NLL)', D.valLoss, COLOURS[1])] : []) ] },
  options: { maintainAspectRatio: false, animation: false, plugins: { title: { display: true, text: 'Loss' } }, scales: { x: xEpoch } } });
if (document.getElementById('metrics')) new Chart(document.getElementById('metrics'), { type: 'line', data: { labels: D.epochs, datasets: [
  line('val balanced accuracy', D.valBalancedAccuracy, COLOURS[2]), line('val macro AUC', D.valMacroAuc, COLOURS[3]),
  line('val macro F1', D.valMacroF1, COLOURS[4]), line('val accuracy', D.valAccuracy, COLOURS[5]),
  ...(D.valBalancedAccuracyRaw ? [line('val balanced accuracy, raw weights (the line above is their average)', D.valBalancedAccuracyRaw, COLOURS[6], { borderDash: [4, 3] })] : []),
  ...(D.extBalancedAccuracy ? [line('external balanced accuracy (other institutions, never trained on)', D.extBalancedAccuracy, COLOURS[1], { borderDash: [2, 2] })] : []) ] },
  options: { maintainAspectRatio: false, animation: false, plugins: { title: { display: true, text: 'Validation metrics' } }, scales: { x: xEpoch, y: { min: 0, max: 1 } } } });
new Chart(document.getElementById('lr'), { type: 'line', data: { labels: D.epochs, datasets: [ line('learning rate (last step of epoch)', D.lr, COLOURS[0]) ] },
  options: { maintainAspectRatio: false, animation: false, plugins: { title: { display: true, text: 'Learning rate' } }, scales: { x: xEpoch } } });
}
function roc(id, series, title) {
  const el = document.getElementById(id);
  if (!el) return;
  const datasets = series.map((s, i) => ({ label: s.code + ' (AUC ' + (s.auc == null ? 'n/a' : s.auc.toFixed(3)) + ')',
    data: s.fpr.map((x, k) => ({ x, y: s.tpr[k] })), showLine: true, pointRadius: 0, borderWidth: 1.5,
    borderColor: COLOURS[['akiec','bcc','bkl','df','mel','nv','vasc'].indexOf(s.code)], backgroundColor: 'transparent' }));
  datasets.push({ label: 'chance', data: [{ x: 0, y: 0 }, { x: 1, y: 1 }], showLine: true, pointRadius: 0, borderDash: [4, 4], borderColor: '#999', borderWidth: 1 });
  new Chart(el, { type: 'scatter', data: { datasets }, options: { maintainAspectRatio: false, animation: false,
    plugins: { title: { display: true, text: title } },
    scales: { x: { min: 0, max: 1, title: { display: true, text: 'false positive rate' } }, y: { min: 0, max: 1, title: { display: true, text: 'true positive rate' } } } } });
}
if (D.roc) { roc('rocVal', D.roc.val, D.refit ? 'ROC, validation (the reference run)' : 'ROC, validation'); roc('rocTest', D.roc.test, 'ROC, test'); }
</script>
</body></html>
`;
}

/** Writes outDir/report.html (atomically) and returns its path. */
export async function writeReport(input: ReportInput): Promise<string> {
  const chartJs = await readFile(chartJsSource(), 'utf8');
  const path = runPaths(input.config.outDir).report;
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, renderReport(input, chartJs));
  await rename(temp, path);
  return path;
}
