// The model card of the model being replaced (the out folder's model-card.json before ship overwrites
// it, or --previous): the new card gives that model a row of its own on the same test split, keeps its
// seed-baseline row when no --baseline run is given (baseline.ts), and sets its external numbers beside
// the new model's (card-external.ts).
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { CanonicalInputSize } from '../../core/preprocess.ts';
import type { Metrics } from '../../core/metrics.ts';
import { metricsJson } from '../evaluate/evaluate-model.ts';
import type { SavedSplit } from '../data/split.ts';
import { exists } from '../run/json.ts';
import type { BaselineRow } from './baseline.ts';
import type { ExternalCardJson } from './card-external.ts';

/** What ship reads of a card an earlier ship wrote (cards older than a field lack it). */
export interface PreviousCardJson {
  name: string;
  version: string;
  sourceRun: string;
  arch: string;
  /** A square model's side; a non-square model's card has inputWidth and inputHeight instead. */
  inputSize?: number;
  inputWidth?: number;
  inputHeight?: number;
  weightBytes: number;
  evaluation: Metrics;
  split: { seed: number; perClass: Record<string, Record<string, number>> };
  baseline?: BaselineRow;
  previousModel?: PreviousModelRow | null;
  melanomaOperatingPoint?: { test: { recall: number; precision: number; flagged: number } } | null;
  externalValidation?: ExternalCardJson;
  previousExternalValidation?: ExternalCardJson & { name: string };
}

/** The previous card and where it was read from (errors name the file); card is null when there is none. */
export interface PreviousCard {
  path: string;
  card: PreviousCardJson | null;
}

/** The previously shipped model's row in the new card. */
export interface PreviousModelRow {
  name: string;
  version: string;
  arch: string;
  /** Its input: a side, or "WxH" for a non-square model. */
  inputSize: CanonicalInputSize;
  weightBytes: number;
  test: Metrics;
  melanomaAlertTest: { recall: number; precision: number; flagged: number } | null;
  externalValidation?: ExternalCardJson;
}

/** A first ship has no card to replace, so an unreadable file counts as none (a file that is not JSON still throws). */
export async function readPreviousCard(path: string): Promise<PreviousCard> {
  // No card there (a first ship) is normal; a card that is not JSON is an error naming the file.
  const text = await readFile(path, 'utf8').catch(() => null);
  if (text === null) return { path, card: null };
  try {
    return { path, card: JSON.parse(text) as PreviousCardJson };
  } catch (error) {
    throw new Error(`${path} is not a model card (${(error as Error).message}): give --previous the previous model's model-card.json`);
  }
}

/** Test split sizes per class of a split.json, to check a card made elsewhere used the same test images. */
const testCounts = (counts: Record<string, Record<string, number>>) => JSON.stringify(counts.test);

/**
 * The model shipped before this one, as its card describes it, for a row beside the new model on the
 * same test split. Shipping the same run again keeps the row of the model before it.
 */
export function previousModelRow({ path, card }: PreviousCard, runDir: string, split: SavedSplit): PreviousModelRow | null {
  if (!card) return null;
  if (card.sourceRun === basename(runDir)) return card.previousModel ?? null;
  if (testCounts(card.split.perClass) !== testCounts(split.counts) || card.split.seed !== split.seed) {
    throw new Error(`${path} describes a model tested on another split; ship with --previous pointing at a card on this split`);
  }
  return {
    name: card.name,
    version: card.version,
    arch: card.arch,
    inputSize: card.inputSize ?? `${card.inputWidth!}x${card.inputHeight!}`,
    weightBytes: card.weightBytes,
    test: metricsJson(card.evaluation),
    melanomaAlertTest: card.melanomaOperatingPoint?.test ?? null,
    ...(card.externalValidation ? { externalValidation: card.externalValidation } : {}),
  };
}

/**
 * The replaced model for the external table: its recorded external rows, or its model.json to score (a
 * re-ship of this same run takes the rows the first ship recorded: extension/model/ then holds this run).
 */
export async function replacedModelForExternal({ path, card }: PreviousCard, previousModel: PreviousModelRow | null, runDir: string) {
  if (!card || !previousModel) return null;
  if (card.sourceRun === basename(runDir)) {
    const recorded = card.previousExternalValidation;
    return recorded ? { name: recorded.name, external: recorded, modelJson: '' } : null;
  }
  const modelJson = join(dirname(path), 'model.json');
  if (!card.externalValidation && !(await exists(modelJson))) return null;
  return { name: card.name, external: card.externalValidation, modelJson };
}
