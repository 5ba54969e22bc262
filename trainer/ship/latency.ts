// The card's classify-time figure, from `npm run bench:infer -- --model <run>/best --model extension/model
// --backends wasm --repeat 5 --json` output: the shipped model and the one shipped before, measured
// alternately in one run. The target is the ratio of their medians: machines differ too much for
// absolute targets.
import { resolve } from 'node:path';
import { median } from '../evaluate/median.ts';
import { readJsonFile } from '../run/json.ts';

export type Latency = Awaited<ReturnType<typeof wasmLatency>>;

/**
 * Median over bench:infer's wasm rows for this run's model (each row is itself the median of its timed
 * calls) and, when the same run measured one other model (the one shipped before), its median and the ratio.
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
    throw new Error(`${file} measured ${others.length} other models; give it the shipped model and the one shipped before only`);
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

/** The latency target: against the model shipped before where the run measured it, else the bare figure (always met). */
export function latencyTargets(latency: Latency | null): Array<readonly [string, boolean, string]> {
  if (latency?.reference)
    return [
      [
        `Single-image classify (preprocess + predict), Node, wasm: <= 1.5x the model shipped before, measured in the same run`,
        latency.ratioToReference! <= 1.5,
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
