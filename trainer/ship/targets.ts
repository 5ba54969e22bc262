// This round's targets (transfer learning), each met or not on the test split by the shipped weights'
// own numbers; the card prints them as a table and ship prints them as it finishes.
import type { Interval } from '../evaluate/bootstrap.ts';
import { num, pct } from './card-format.ts';
import { gateTargets } from './gate-card.ts';
import { latencyTargets } from './latency.ts';
import type { Shipment } from './shipment.ts';

/** [target, met, value as the card prints it]. */
export type Target = [string, boolean, string];

const ci = (i: Interval | null) => (i ? ` (95% CI ${i.low.toFixed(3)}-${i.high.toFixed(3)})` : '');
const ciPct = (i: Interval | null) => (i ? ` (95% CI ${pct(i.low)}-${pct(i.high)})` : '');

export function cardTargets({ test, op, intervals, weightBytes, weights, gate, latency }: Shipment): Target[] {
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
  ];
  return targets as Target[];
}
