// How the shipped network was made, as the card tells it: the run a refit repeats, the pretrained
// backbone a transfer-learning run started from, and the command lines that train it again.
import { basename } from 'node:path';
import { KNOWN_BACKBONES } from '../model/backbone.ts';
import type { TrainConfig } from '../run/config.ts';
import { readTrainConfig } from '../run/files.ts';
import { trainCommandLine } from '../run/train-flags.ts';
import type { RunConfig, Training } from './read-run.ts';

export type Refit = Awaited<ReturnType<typeof readRefitReference>>;
/** The validated run a refit repeats (its recipe, settings and validation numbers), or null for any other run. */
export async function readRefitReference(config: RunConfig) {
  const dir: string | null = config.refitFrom ?? null;
  if (!dir) return null;
  return { dir, name: basename(dir), config: await readTrainConfig(dir, "ship: the refit's reference run") };
}

export type Backbone = ReturnType<typeof backboneOf>;
/** The pretrained backbone a transfer-learning run started from, by the sha256 its config recorded. */
export function backboneOf(recipe: Record<string, unknown>) {
  return recipe.backboneSha256
    ? {
        sha256: recipe.backboneSha256 as string,
        knownAs: KNOWN_BACKBONES[recipe.backboneSha256 as string]?.name ?? null,
        description: KNOWN_BACKBONES[recipe.backboneSha256 as string]?.description ?? null,
        licence: KNOWN_BACKBONES[recipe.backboneSha256 as string]?.licence ?? null,
      }
    : null;
}

/**
 * The dermlens commands that retrain the shipped network into runs/release, generated from the flag table:
 * each member and the ensemble, or the validated run and its refit, or the one run.
 */
export function trainCommand(config: RunConfig, training: Training, refit: Refit, backbone: Backbone): string {
  const trainCommandOf = (c: Partial<TrainConfig> | Record<string, unknown>, out: string) =>
    trainCommandLine(c as Partial<TrainConfig>, out, {
      backbone: `${backbone?.knownAs ?? 'backbone'} or its dermlens import-backbone folder`,
    });
  const memberOut = (i: number) => `runs/release-m${i + 1}`;
  return training.ensembleSize
    ? [
        ...training.configs.map((c, i) => trainCommandOf(c, memberOut(i))),
        `npx dermlens ensemble ${training.configs.map((_, i) => `--member ${memberOut(i)}`).join(' ')} --out runs/release${config.tta ? ' --tta' : ''}`,
      ].join(' && ')
    : refit
      ? `${trainCommandOf(refit.config, 'runs/release-validated')} && npx dermlens train --refit-from runs/release-validated --out runs/release`
      : trainCommandOf(config, 'runs/release');
}
