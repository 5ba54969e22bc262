// Which code trained a run: every start or resume appends the git commit (and whether the working tree
// had uncommitted changes) to <run>/provenance.json, so a model card can name the trainer's commit.
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

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

export const PROVENANCE_FILE = 'provenance.json';

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
  try {
    return JSON.parse(await readFile(join(runDir, PROVENANCE_FILE), 'utf8')) as ProvenanceEntry[];
  } catch {
    return [];
  }
}

export async function appendProvenance(runDir: string, entry: ProvenanceEntry): Promise<void> {
  const entries = await readProvenance(runDir);
  await writeFile(join(runDir, PROVENANCE_FILE), `${JSON.stringify([...entries, entry], null, 1)}\n`);
}
