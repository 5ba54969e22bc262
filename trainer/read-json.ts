// Reads a JSON file another command wrote, naming what it was reading when that fails.
import { readFile } from 'node:fs/promises';

export async function readJsonFile<T>(path: string, what: string): Promise<T> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (err) {
    throw new Error(`${what}: cannot read ${path} (${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : (err as Error).message})`);
  }
}
