// This round's targets (transfer learning), each met or not on the test split by the shipped weights'
// own numbers; the card prints them as a table and ship prints them as it finishes.
import type { Interval } from '../evaluate/bootstrap.ts';
import { num, pct } from './card-format.ts';
import { gateTargets } from './gate-card.ts';
import { latencyTargets } from './latency.ts';
import type { Shipment } from './shipment.ts';
import type { ExternalCardJson } from './card-external.ts';
import type { FieldOfViewReport } from '../train/field-of-view-check.ts';

/** [target, met, value as the card prints it]. */
export type Target = [string, boolean, string];

const ci = (i: Interval | null) => (i ? ` (95% CI ${i.low.toFixed(3)}-${i.high.toFixed(3)})` : '');
const ciPct = (i: Interval | null) => (i ? ` (95% CI ${pct(i.low)}-${pct(i.high)})` : '');

export function cardTargets({ test, op, intervals, weightBytes, weights, gate, latency, externalCard, fieldOfView }: Shipment): Target[] {
  const targets = [
    ['Balanced accuracy >= 0.78', test.balancedAccuracy >= 0.78, num(test.balancedAccuracy) + ci(intervals.balancedAccuracy)],
    ['Macro one-vs-rest AUC >= 0.96', (test.macroAuc ?? 0) >= 0.96, num(test.macroAuc)],
    op
      ? [
          'Melanoma alert recall >= 0.85 with precision >= 0.40 (alert when P(mel) >= ' + op.melanomaThreshold.toFixed(3) + ')',
          op.test.recall >= 0.85 && op.test.precision >= 0.4,
          `recall ${pct(op.test.recall)}${ciPct(intervals.melanomaRecallAtOperatingPoint)}, precision ${pct(op.test.precision)}; ${pct(op.test.flagged)} of images flagged`,
        ]
      : ['Melanoma alert recall >= 0.85 with precision >= 0.40 (no alert threshold)', false, 'no operating point'],
    ['ECE <= 0.05 after calibration', test.ece <= 0.05, num(test.ece)],
    ['Shipped weights <= 4.5 MB', weightBytes <= 4.5e6, `${(weightBytes / 1e6).toFixed(2)} MB (${weights})`],
    ...gateTargets(gate),
    ...latencyTargets(latency),
    ...externalTargets(externalCard?.json ?? null),
    ...fieldOfViewTargets(fieldOfView),
  ];
  return targets as Target[];
}

/**
 * Issue 24's targets on the external set (other institutions, never trained on): the mean recall of the classes
 * present (bkl, mel, nv in ph2 + msk), the melanoma alert at the threshold chosen on HAM10000 validation, and
 * calibration. None for a run without an external set.
 */
export function externalTargets(external: ExternalCardJson | null): Target[] {
  const all = external?.rows.find((r) => r.name === 'all');
  if (!all) return [];
  const classes = Object.keys(all.recall).join('/');
  const alert = all.melanomaAlert;
  return [
    [
      `External set (${external!.collections.join(' + ')}, never trained on): mean recall of ${classes} >= 0.60`,
      all.balancedAccuracy >= 0.6,
      `${num(all.balancedAccuracy)} (95% CI ${all.interval[0].toFixed(3)}-${all.interval[1].toFixed(3)})`,
    ],
    alert
      ? [
          'External set: melanoma alert catches >= 80% of its melanomas',
          alert.recall >= 0.8,
          `${pct(alert.recall)}, precision ${pct(alert.precision)}; ${pct(alert.flagged)} of images flagged`,
        ]
      : ['External set: melanoma alert catches >= 80% of its melanomas', false, 'no alert threshold or no melanomas'],
    ['External set: ECE <= 0.05', all.ece <= 0.05, num(all.ece)],
  ];
}

/** Balanced accuracy with each round field of view of the check (test images) within 0.03 of the clean images'. */
export function fieldOfViewTargets(report: FieldOfViewReport | null): Target[] {
  const clean = report?.rows.find((r) => r.fieldOfView === 'none');
  if (!report || !clean) return [];
  const worst = report.rows.filter((r) => r !== clean).reduce((a, b) => (b.balancedAccuracy < a.balancedAccuracy ? b : a));
  const drop = clean.balancedAccuracy - worst.balancedAccuracy;
  return [
    [
      'Balanced accuracy with a round field of view within 0.03 of clean (test images)',
      drop <= 0.03,
      `worst ${worst.fieldOfView}: ${num(worst.balancedAccuracy)} vs ${num(clean.balancedAccuracy)} clean (${drop >= 0 ? '-' : '+'}${Math.abs(drop).toFixed(3)})`,
    ],
  ];
}
