// The runs considered for shipping (--candidate), by their validation numbers only, and the rule they
// enforce: the shipped run leads them on validation balanced accuracy, or --despite gives the reason it
// ships anyway (printed in the card). The choice between runs is made on validation, never on test.
import { basename, resolve } from 'node:path';
import type { CanonicalInputSize } from '../../core/preprocess.ts';
import type { Metrics } from '../../core/metrics.ts';
import { loadSplit, sameHeldOutSides, type SavedSplit } from '../data/split.ts';
import { runPaths } from '../run/layout.ts';
import { readFinalEvaluation, readRunConfig, readTraining, type Training } from './read-run.ts';

export type CandidateRow = ReturnType<typeof candidateRow>;

/** One row of the candidates table: a finished run, by its validation numbers only. */
function candidateRow(dir: string, t: Training, d: { tta: string; val: Metrics }) {
  const v = d.val;
  const c = t.recipe;
  return {
    run: basename(dir),
    arch: t.members ? `${t.members.length} x ${c.arch as string}` : (c.arch as string),
    inputSize: c.size as CanonicalInputSize,
    epochs: c.epochs as number,
    balance: c.balance as string,
    augment: `${c.augment as string}${c.fieldOfView ? ` + field of view ${c.fieldOfView as number}` : ''}`,
    ema: (c.ema as number | undefined) ?? 0,
    // An ensemble has no epoch of its own: its members' best epochs instead.
    ...(t.members ? { bestEpoch: null, memberBestEpochs: t.bestEpochs } : { bestEpoch: t.bestEpochs[0] }),
    // A refit's validation numbers are its reference run's (it trained on the validation images).
    ...(c.refitFrom ? { refitOf: basename(c.refitFrom as string) } : {}),
    tta: d.tta,
    valBalancedAccuracy: v.balancedAccuracy,
    valMacroAuc: v.macroAuc,
    valEce: v.ece,
    valMelanomaRecall: v.perClass.mel.recall,
  };
}

async function readCandidate(dir: string, split: SavedSplit) {
  const [c, s, d] = await Promise.all([readRunConfig(dir), loadSplit(runPaths(dir).split), readFinalEvaluation(dir)]);
  // Candidates are compared on validation: they must hold out the same images (an ensemble whose members also
  // trained on phone photos has a larger training side, and is still comparable).
  if (!sameHeldOutSides(s, split))
    throw new Error(`candidate ${dir} holds out other images (validation, test or external); candidates must share the shipped run's`);
  return candidateRow(dir, await readTraining(dir, c, false), d);
}

/**
 * The candidates table, the shipped run first, and its leader on validation. Throws when another run
 * leads without a --despite reason, or when --despite is given but nothing needs overriding.
 */
export async function readCandidates(
  shipped: { runDir: string; training: Training; detail: { tta: string; val: Metrics } },
  candidateRuns: string[] | undefined,
  despiteReason: string | undefined,
  split: SavedSplit,
) {
  // The shipped run's files are read already; only the other candidates are read here.
  const candidates = [
    candidateRow(shipped.runDir, shipped.training, shipped.detail),
    ...(await Promise.all((candidateRuns ?? []).map((d) => readCandidate(resolve(d), split)))),
  ];
  const bestCandidate = candidates.reduce((a, b) => (b.valBalancedAccuracy > a.valBalancedAccuracy ? b : a));
  const despite = despiteReason?.trim() || null;
  if (bestCandidate !== candidates[0] && !despite) {
    throw new Error(
      `${bestCandidate.run} has the higher validation balanced accuracy (${bestCandidate.valBalancedAccuracy.toFixed(4)} vs ${candidates[0].valBalancedAccuracy.toFixed(4)}): ship that one, runs are chosen on validation (or give the reason to ship this one anyway with --despite "<reason>", which the card prints)`,
    );
  }
  if (despite && bestCandidate === candidates[0])
    throw new Error('--despite is for shipping a run that a --candidate leads on validation; this one leads');
  return { candidates, bestCandidate, despite };
}
