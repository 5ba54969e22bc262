// Which code trained a run: every start or resume appends the git commit (and whether the working tree
// had uncommitted changes) to <run>/provenance.json, so a model card can name the trainer's commit.
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readJsonIfExists, writeJsonAtomic } from './json.ts';
import { PROVENANCE_FILE } from './layout.ts';

export { PROVENANCE_FILE };

export interface ProvenanceEntry {
  startedAt: string;
  resumed: boolean;
  /** HEAD of the trainer's checkout, or null outside a git checkout. */
  commit: string | null;
  /** True when tracked files differed from that commit. */
  dirty: boolean | null;
  /** Free text, e.g. how an entry was reconstructed for a run older than this file. */
  note?: string;
}

function git(args: string[]): string | null {
  try {
    const cwd = dirname(fileURLToPath(import.meta.url));
    return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

export function currentProvenance(resumed: boolean): ProvenanceEntry {
  const commit = git(['rev-parse', 'HEAD']);
  const status = commit === null ? null : git(['status', '--porcelain', '--untracked-files=no']);
  return { startedAt: new Date().toISOString(), resumed, commit, dirty: status === null ? null : status.length > 0 };
}

export async function readProvenance(runDir: string): Promise<ProvenanceEntry[]> {
  // Runs older than this file have none; an unreadable one is not a reason to stop a training run.
  return (await readJsonIfExists<ProvenanceEntry[]>(join(runDir, PROVENANCE_FILE)).catch(() => undefined)) ?? [];
}

export async function appendProvenance(runDir: string, entry: ProvenanceEntry): Promise<void> {
  const entries = await readProvenance(runDir);
  await writeJsonAtomic(join(runDir, PROVENANCE_FILE), [...entries, entry]);
}
