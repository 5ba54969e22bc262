// The optional reports written into the run folder after training: the dermoscopy gate (dermlens fit-gate)
// and the round-field-of-view check (scripts/check-field-of-view.ts). Each is refused when it describes
// other weights than the ones that ship, so the card never quotes a stale report.
import { resolve } from 'node:path';
import type { GateReport, LegacyGateReport } from '../train/fit-gate.ts';
import type { FieldOfViewReport } from '../train/field-of-view-check.ts';
import { readJsonIfExists } from '../run/json.ts';
import { runPaths } from '../run/layout.ts';
import type { ModelJson } from './read-run.ts';

export async function readRunReports(runDir: string, modelDir: string, modelJson: ModelJson) {
  /** The gate's gate.json, when the shipped model has one: three-way (v2) or the older two-way (v1). */
  const gate: GateReport | LegacyGateReport | null = (await readJsonIfExists(runPaths(runDir).gate, 'ship')) ?? null;
  /** The test side's check, when it was run for the shipped weights. */
  const fieldOfView: FieldOfViewReport | null = (await readJsonIfExists(runPaths(runDir).fieldOfView('test'), 'ship')) ?? null;
  if (fieldOfView && resolve(fieldOfView.model) !== resolve(modelDir)) {
    throw new Error(
      `${runPaths(runDir).fieldOfView('test')} scored ${fieldOfView.model}, not the shipped ${modelDir}: run scripts/check-field-of-view.ts --model ${modelDir} --run ${runDir} --side test again`,
    );
  }
  // fit-gate writes its thresholds into the shipped model.json too; the card must describe the gate the extension runs.
  const shippedThreshold = (modelJson.userDefinedMetadata?.dermlens?.dermoscopyThreshold ?? null) as number | null;
  const shippedClinical = (modelJson.userDefinedMetadata?.dermlens?.clinicalThreshold ?? null) as number | null;
  const gateClinical = gate?.format === 'dermlens-gate-v2' ? gate.clinicalThreshold : null;
  if (
    (gate === null) !== (shippedThreshold === null) ||
    (gate && gate.threshold !== shippedThreshold) ||
    shippedClinical !== gateClinical
  ) {
    throw new Error(
      `${modelDir}/model.json and ${runDir}/gate.json disagree about the dermoscopy gate; run dermlens fit-gate --run ${runDir} again`,
    );
  }
  return { gate, fieldOfView };
}
