// Every JSON file of a run folder is read and written here: reads name the file (and, through the
// typed readers in run/files.ts, the field) when they fail; writes are atomic (a temporary file renamed
// into place), so a run killed mid-write leaves the previous complete file.
import { readFile, rename, stat, writeFile } from 'node:fs/promises';

export const exists = (path: string): Promise<boolean> =>
  stat(path).then(
    () => true,
    () => false,
  );

/** Parses a JSON file another command wrote, naming what it was reading when that fails. */
export async function readJsonFile<T>(path: string, what: string): Promise<T> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (err) {
    throw new Error(
      `${what}: cannot read ${path} (${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : (err as Error).message})`,
    );
  }
}

/** Like readJsonFile, but a missing file is undefined (an optional file, or one a running run has not written yet). */
export async function readJsonIfExists<T>(path: string, what = 'run file'): Promise<T | undefined> {
  if (!(await exists(path))) return undefined;
  return readJsonFile<T>(path, what);
}

/** Writes `value` as indented JSON, atomically. */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(value, null, 1)}\n`);
  await rename(temp, path);
}
