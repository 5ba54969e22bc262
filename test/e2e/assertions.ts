// Assertions on what the user sees, read from the data-* attributes the extension mirrors onto
// <dermlens-overlay> / <dermlens-popup> (see the extension contract).
import assert from 'node:assert/strict';
import { CLASS_CODES } from '../../core/labels.ts';
import type { StateEntry } from './harness.ts';

/** A result: 7 probabilities in CLASS_CODES order, each in [0,1], summing to 1, and top = argmax. */
export function assertResult(entry: StateEntry): number[] {
  assert.equal(entry.state, 'result', `expected a result, got state=${entry.state} error=${JSON.stringify(entry.error)}`);
  assert.ok(entry.probabilities, 'data-probabilities is missing');
  const probabilities = entry.probabilities.split(',').map((s) => Number(s.trim()));
  assert.equal(probabilities.length, CLASS_CODES.length, `expected 7 probabilities, got "${entry.probabilities}"`);
  for (const p of probabilities) assert.ok(Number.isFinite(p) && p >= 0 && p <= 1, `probability out of range in "${entry.probabilities}"`);
  const sum = probabilities.reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(sum - 1) <= 1e-4, `probabilities sum to ${sum}, not 1 (within 1e-4): "${entry.probabilities}"`);
  assert.ok((CLASS_CODES as readonly string[]).includes(entry.top ?? ''), `data-top "${entry.top}" is not a class code`);
  const best = Math.max(...probabilities);
  assert.equal(
    probabilities[CLASS_CODES.indexOf(entry.top as (typeof CLASS_CODES)[number])],
    best,
    `data-top ${entry.top} is not the most probable class`,
  );
  return probabilities;
}

/**
 * An error a person can read: state error, a sentence-like message of sensible length that names
 * the cause (`about`), and no leaked internals (object dumps, stack frames, bare exception names).
 */
export function assertReadableError(entry: StateEntry, about: RegExp): string {
  assert.equal(entry.state, 'error', `expected an error, got state=${entry.state} top=${entry.top}`);
  const message = entry.error ?? '';
  assert.ok(message.length >= 10 && message.length <= 400, `error message too short or too long: ${JSON.stringify(message)}`);
  assert.doesNotMatch(
    message,
    /\[object |\bundefined\b|\bnull\b|^\w*Error:?$|\n\s+at |\.js:\d+/,
    `error leaks internals: ${JSON.stringify(message)}`,
  );
  assert.match(message, about, `error does not say what went wrong: ${JSON.stringify(message)}`);
  return message;
}
