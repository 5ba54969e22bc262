// The card's classify-time figure, from `npm run bench:infer -- --model <run>/best --model <reference>
// --backends wasm --repeat 5 --json` output: the shipped model and a reference model, measured alternately
// in one run. The target is the ratio of their medians: machines differ too much for absolute targets.
// The reference is r4-fov, the model shipped when the generalisation round began (its weights are in git,
// commit 62558c9): issue 24 set the budget at 4x its time, since 20 ms more per image is invisible in a
// right-click, and replaced the rule "at most 1.5x the model shipped before", which let the budget creep
// by 1.5x with every model.
import { resolve } from 'node:path';
import { median } from '../evaluate/median.ts';
import { readJsonFile } from '../run/json.ts';

export type Latency = Awaited<ReturnType<typeof wasmLatency>>;

/**
 * Median over bench:infer's wasm rows for this run's model (each row is itself the median of its timed
 * calls) and, when the same run measured one other model (the reference), its median and the ratio.
 */
export async function wasmLatency(file: string, modelDir: string) {
  const rows = await readJsonFile<Array<{ backend: string; model: string; medianMs: number }>>(file, 'ship --latency');
  const wasm = rows.filter((r) => r.backend.startsWith('wasm'));
  const shipped = resolve(modelDir, 'model.json');
  const mine = wasm.filter((r) => resolve(r.model) === shipped);
  if (mine.length === 0)
    throw new Error(`${file} has no wasm rows for ${shipped} (run bench:infer --model ${modelDir} --backends wasm --json)`);
  const others = [...new Set(wasm.filter((r) => resolve(r.model) !== shipped).map((r) => r.model))];
  if (others.length > 1)
    throw new Error(`${file} measured ${others.length} other models; give it the shipped model and the reference (r4-fov) only`);
  const stats = (rs: typeof wasm) => {
    const m = rs.map((r) => r.medianMs).sort((a, b) => a - b);
    return { medianMs: median(m), runMediansMs: m };
  };
  const reference = others.length ? { model: others[0], ...stats(wasm.filter((r) => r.model === others[0])) } : null;
  const own = stats(mine);
  return {
    ...own,
    reference,
    ratioToReference: reference ? own.medianMs / reference.medianMs : null,
    source: 'npm run bench:infer (Node, wasm backend, SIMD, 1 thread), models alternating in one run',
  };
}

/** How much slower than the reference (r4-fov) a shipped model may classify one image. */
export const CLASSIFY_BUDGET_RATIO = 4;

/** The latency target: against the reference model where the run measured one, else the bare figure (always met). */
export function latencyTargets(latency: Latency | null): Array<readonly [string, boolean, string]> {
  if (latency?.reference)
    return [
      [
        `Single-image classify (preprocess + predict), Node, wasm: <= ${CLASSIFY_BUDGET_RATIO}x the reference model (${latency.reference.model}), measured in the same run`,
        latency.ratioToReference! <= CLASSIFY_BUDGET_RATIO,
        `${latency.ratioToReference!.toFixed(2)}x: ${latency.medianMs.toFixed(1)} ms vs ${latency.reference.medianMs.toFixed(1)} ms (medians of ${latency.runMediansMs.length} alternating bench:infer runs each)`,
      ],
    ];
  if (latency)
    return [
      [
        'Single-image classify (preprocess + predict), Node, wasm (no reference model measured)',
        true,
        `${latency.medianMs.toFixed(1)} ms (median of ${latency.runMediansMs.length} bench:infer runs: ${latency.runMediansMs.map((m) => m.toFixed(1)).join(', ')} ms)`,
      ],
    ];
  return [];
}
