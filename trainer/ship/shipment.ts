// Everything ship gathered and checked about the run being shipped: the one input that model-card.json,
// MODEL_CARD.md and the targets are written from, so those writers read no files and refuse nothing.
import type { Metrics } from '../../core/metrics.ts';
import type { SavedSplit } from '../data/split.ts';
import type { MelanomaOperatingPoint } from '../evaluate/final-evaluation.ts';
import type { ProvenanceEntry } from '../run/provenance.ts';
import type { FieldOfViewReport } from '../train/field-of-view-check.ts';
import type { GateReport, LegacyGateReport } from '../train/fit-gate.ts';
import type { BaselineRow } from './baseline.ts';
import type { CandidateRow } from './candidates.ts';
import type { readExternalCard } from './card-external.ts';
import type { ClinicalTraining } from './gate-card.ts';
import type { Latency } from './latency.ts';
import type { PreviousModelRow } from './previous-card.ts';
import type { RunConfig, RunEvaluation, Training } from './read-run.ts';
import type { Backbone, Refit } from './recipe.ts';
import type { Weights } from './shipped-weights.ts';
import type { TestIntervals } from './test-intervals.ts';

export interface Shipment {
  runDir: string;
  weights: Weights;
  config: RunConfig;
  split: SavedSplit;
  clinicalTraining: ClinicalTraining | null;
  /** The run's final evaluation (float32 network; validation numbers and every choice are its). */
  detail: RunEvaluation;
  training: Training;
  refit: Refit;
  backbone: Backbone;
  baseline: BaselineRow;
  previousModel: PreviousModelRow | null;
  externalCard: Awaited<ReturnType<typeof readExternalCard>>;
  candidates: CandidateRow[];
  bestCandidate: CandidateRow;
  /** Why the run ships although bestCandidate leads it (--despite), or null. */
  despite: string | null;
  provenance: ProvenanceEntry[];
  commit: string;
  parameters: number;
  weightBytes: number;
  /** The quantized copy's evaluation when it ships, else null. */
  quantized: { test: Metrics } | null;
  /** The shipped weights' own test metrics and melanoma alert. */
  test: Metrics;
  val: Metrics;
  op: MelanomaOperatingPoint | null;
  intervals: TestIntervals;
  trainCommand: string;
  latency: Latency | null;
  gate: GateReport | LegacyGateReport | null;
  fieldOfView: FieldOfViewReport | null;
}
