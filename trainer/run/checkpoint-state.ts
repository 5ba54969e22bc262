// The checkpoint's description, checkpoint/state.json: which epoch it holds, the history so far, the
// best score. Kept apart from the weights (train/checkpoint.ts) so that a report can read a running
// run's progress without tfjs.
import { join } from 'node:path';
import { CHECKPOINT_DIR, CHECKPOINT_STATE_FILE } from './layout.ts';
import { exists, readJsonFile, writeJsonAtomic } from './json.ts';
import { checkpointStateSchema, parseRunFile } from './files.ts';
import type { EpochRecord, TrainConfig } from './config.ts';

export { CHECKPOINT_DIR };
const FORMAT = 'dermlens-checkpoint-v1';

export interface CheckpointState<TConfig = TrainConfig, THistory = EpochRecord> {
  format: typeof FORMAT;
  /** Completed epochs. */
  epoch: number;
  /** Optimizer steps taken so far. */
  step: number;
  config: TConfig;
  history: THistory[];
  bestValBalancedAccuracy: number;
  bestEpoch: number;
  epochsWithoutImprovement: number;
  /** True when early stopping ended training. */
  stoppedEarly: boolean;
  savedAt: string;
}

/** What the trainer carries from epoch to epoch (the state without its format tag and time stamp). */
export type CheckpointProgress<TConfig = TrainConfig, THistory = EpochRecord> = Omit<
  CheckpointState<TConfig, THistory>,
  'format' | 'savedAt'
>;

/** The folder of the last complete checkpoint (the previous one if a crash hit between the renames), or null. */
export async function findCheckpoint(runDir: string): Promise<string | null> {
  for (const dir of [join(runDir, CHECKPOINT_DIR), join(runDir, `${CHECKPOINT_DIR}.old`)]) {
    if (await exists(join(dir, CHECKPOINT_STATE_FILE))) return dir;
  }
  return null;
}

export async function readCheckpointState(dir: string): Promise<CheckpointState> {
  const path = join(dir, CHECKPOINT_STATE_FILE);
  const raw = await readJsonFile<{ format?: unknown }>(path, 'checkpoint');
  if (raw.format !== FORMAT) throw new Error(`${path} is not a DermLens checkpoint (format ${JSON.stringify(raw.format)})`);
  return parseRunFile(checkpointStateSchema, raw, path) as CheckpointState;
}

export async function writeCheckpointState(dir: string, state: CheckpointProgress): Promise<void> {
  const full: CheckpointState = { format: FORMAT, ...state, savedAt: new Date().toISOString() };
  await writeJsonAtomic(join(dir, CHECKPOINT_STATE_FILE), full);
}
