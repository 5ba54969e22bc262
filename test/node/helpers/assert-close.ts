// Float32 equality for the native fast-path tests: two computations of the same thing through different
// kernels agree to rounding noise, relative to the tensor's largest value.
import assert from 'node:assert/strict';

/** max |a - b| <= tol * max |b| (+ a floor for all-zero tensors): float32 noise, not a loose match. SHOW_DIFFS=1 prints each. */
export function assertClose(actual: Float32Array, expected: Float32Array, what: string, tol = 1e-4): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let maxDiff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  if (process.env.SHOW_DIFFS) console.log(`${what}: rel diff ${(maxDiff / (scale || 1)).toExponential(2)}`);
  assert.ok(maxDiff <= tol * scale + 1e-7, `${what}: max diff ${maxDiff} vs max |value| ${scale}`);
}
