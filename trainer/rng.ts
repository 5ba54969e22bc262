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
