// How the data sources are mixed in an epoch (--source-rate): each training image belongs to a rate
// group (its collection's rate if one is given, else its folder's, else 1), and each epoch draws that
// share of the group's images without replacement, fresh each epoch (rate 2 = every image twice). The
// epoch's size is fixed by the rates, so the learning-rate schedule knows its steps in advance.
import type { LabelledImage } from '../data/metadata.ts';
import { shuffleInPlace } from '../data/rng.ts';

export type SourceRates = Readonly<Record<string, number>>;

/** The rate that applies to an image and the group it is drawn in. */
export function rateOf(item: LabelledImage, rates: SourceRates | undefined): { group: string; rate: number } {
  if (rates && item.dataset !== undefined && rates[item.dataset] !== undefined)
    return { group: `dataset:${item.dataset}`, rate: rates[item.dataset] };
  if (rates && item.source !== undefined && rates[item.source] !== undefined)
    return { group: `source:${item.source}`, rate: rates[item.source] };
  return { group: 'default', rate: 1 };
}

/** Positions by rate group, in the given order. */
function groups(indices: readonly number[], itemOf: (i: number) => LabelledImage, rates: SourceRates | undefined) {
  const byGroup = new Map<string, { rate: number; members: number[] }>();
  for (const i of indices) {
    const { group, rate } = rateOf(itemOf(i), rates);
    let g = byGroup.get(group);
    if (!g) byGroup.set(group, (g = { rate, members: [] }));
    g.members.push(i);
  }
  return [...byGroup.values()];
}

const drawnOf = (rate: number, n: number) => Math.floor(rate) * n + Math.round((rate - Math.floor(rate)) * n);

/** Images per epoch with these rates. */
export function epochSize(indices: readonly number[], itemOf: (i: number) => LabelledImage, rates: SourceRates | undefined): number {
  return groups(indices, itemOf, rates).reduce((n, g) => n + drawnOf(g.rate, g.members.length), 0);
}

/** This epoch's draw (positions, possibly repeated; unordered: the epoch's shuffle orders them). Without rates: the indices as they are. */
export function drawEpoch(
  indices: readonly number[],
  itemOf: (i: number) => LabelledImage,
  rates: SourceRates | undefined,
  rng: () => number,
): number[] {
  if (!rates || Object.keys(rates).length === 0) return [...indices];
  const drawn: number[] = [];
  for (const g of groups(indices, itemOf, rates)) {
    for (let k = 0; k < Math.floor(g.rate); k++) drawn.push(...g.members);
    const extra = drawnOf(g.rate, g.members.length) - Math.floor(g.rate) * g.members.length;
    if (extra > 0) drawn.push(...shuffleInPlace([...g.members], rng).slice(0, extra));
  }
  return drawn;
}

/** Each image's expected draws per epoch (its rate), for class weights that follow the mix. */
export const expectedDraws = (indices: readonly number[], itemOf: (i: number) => LabelledImage, rates: SourceRates | undefined): number[] =>
  indices.map((i) => rateOf(itemOf(i), rates).rate);
