// Learning-rate schedules, evaluated per optimizer step so a resumed run continues the same curve.

import type { LrScheduleName } from '../run/config.ts';

export interface LrScheduleOptions {
  /** Peak learning rate. */
  lr: number;
  schedule: LrScheduleName;
  /** Linear warm-up from lr / warmupSteps to lr over the first warmupSteps steps (0 = none). */
  warmupSteps: number;
  /** Total optimizer steps of the run (cosine decays to 0 at the end). */
  totalSteps: number;
}

/** Learning rate for the 0-based optimizer step. */
export function learningRateAt(step: number, { lr, schedule, warmupSteps, totalSteps }: LrScheduleOptions): number {
  if (warmupSteps > 0 && step < warmupSteps) return (lr * (step + 1)) / warmupSteps;
  if (schedule === 'constant') return lr;
  const decaySteps = Math.max(1, totalSteps - warmupSteps);
  const progress = Math.min(1, (step - warmupSteps) / decaySteps);
  return 0.5 * lr * (1 + Math.cos(Math.PI * progress));
}
