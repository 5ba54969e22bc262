// Temperature scaling (Guo et al. 2017): one scalar T fitted on the validation split so that
// softmax(log p / T) minimises the negative log-likelihood. It changes confidence, never the ranking.
/** Keras' backend epsilon: probabilities are clipped to [eps, 1 - eps] before a log (in the loss and these scores), so log() stays finite when the softmax saturates. */
export const PROB_EPSILON = 1e-7;

/** softmax(log(p) / T) for one probability row. */
export function applyTemperature(probs: ArrayLike<number>, temperature: number): Float64Array {
  const logits = Array.from(probs, (p) => Math.log(Math.max(p, 1e-12)) / temperature);
  const max = Math.max(...logits);
  const exps = logits.map((l) => Math.exp(l - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return Float64Array.from(exps, (e) => e / sum);
}

export function nllAtTemperature(yTrue: readonly number[], probs: readonly ArrayLike<number>[], temperature: number): number {
  let total = 0;
  yTrue.forEach((y, i) => {
    total -= Math.log(Math.max(PROB_EPSILON, applyTemperature(probs[i], temperature)[y]));
  });
  return total / yTrue.length;
}

/**
 * The temperature in [0.05, 20] minimising the mean NLL, by golden-section search on log T (the NLL is
 * smooth and, for temperature scaling, unimodal in log T). Returns 1 for an empty set.
 */
export function fitTemperature(yTrue: readonly number[], probs: readonly ArrayLike<number>[], { tolerance = 1e-4 } = {}): number {
  if (yTrue.length === 0) return 1;
  const f = (logT: number) => nllAtTemperature(yTrue, probs, Math.exp(logT));
  const phi = (Math.sqrt(5) - 1) / 2;
  let a = Math.log(0.05);
  let b = Math.log(20);
  let c = b - phi * (b - a);
  let d = a + phi * (b - a);
  let fc = f(c);
  let fd = f(d);
  while (b - a > tolerance) {
    if (fc < fd) {
      b = d;
      d = c;
      fd = fc;
      c = b - phi * (b - a);
      fc = f(c);
    } else {
      a = c;
      c = d;
      fc = fd;
      d = a + phi * (b - a);
      fd = f(d);
    }
  }
  return Math.exp((a + b) / 2);
}

/** Mean negative log-likelihood of the true classes under probability rows (for validation loss and calibration). */
export function meanNll(yTrue: readonly number[], probs: readonly ArrayLike<number>[]): number {
  let total = 0;
  yTrue.forEach((y, i) => {
    total -= Math.log(Math.min(1 - PROB_EPSILON, Math.max(PROB_EPSILON, probs[i][y])));
  });
  return yTrue.length ? total / yTrue.length : NaN;
}
