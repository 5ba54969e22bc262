// Seeded pseudo-random numbers for everything the trainer randomises (split, sampling,
// augmentation), so a run is reproducible from its seed. Math.random() cannot be seeded.

/** mulberry32: a tiny, fast 32-bit generator with good statistical quality for this use. Returns floats in [0, 1). */
export function makeRng(seed: number): () => number {
  if (!Number.isFinite(seed)) throw new Error(`makeRng: seed must be a finite number, got ${seed}`);
  let state = (Math.trunc(seed) >>> 0) ^ 0x9e3779b9; // mix so seeds 0 and 1 do not start alike
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uniform float in [lo, hi). */
export function uniform(rng: () => number, lo: number, hi: number): number {
  return lo + (hi - lo) * rng();
}

/** Fisher-Yates shuffle in place; returns the same array. */
export function shuffleInPlace<T>(items: T[], rng: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

/** A 32-bit hash of integers, to derive independent seeds for (seed, epoch, purpose) streams. */
export function mixSeed(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const part of parts) {
    h = Math.imul(h ^ (part >>> 0), 0x01000193);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    h ^= h >>> 12;
  }
  return h >>> 0;
}

/** The purposes a run draws random numbers for, each its own stream of mixSeed(seed, purpose, ...). */
export const STREAM = { shuffle: 1, augment: 2, dropout: 3, sources: 4 } as const;
