// How a merged ensemble names its members' layers, shared by the merge (trainer/model/merge.ts) and the code
// that reads one member inside the merged graph (the gate, core/dermoscopy-gate.ts).
import type { tf } from './tf.ts';

/**
 * An ensemble (trainer/model/merge.ts) is one flat graph holding each member network's layers, renamed with
 * this prefix: m0_, m1_, ... Code that reads one network's layers inside it (the gate) goes by this name.
 */
export const ensembleMemberPrefix = (member: number): string => `m${member}_`;

/** Whether `model` is a merged ensemble of several networks (its second member's layers are present). */
export function isMergedEnsemble(model: tf.LayersModel): boolean {
  const second = ensembleMemberPrefix(1);
  return model.layers.some((l) => l.name.startsWith(second));
}
