// How the card's Markdown writes a number: shares as percentages, scores to three decimals, 'n/a' for none.
export const pct = (x: number | null | undefined): string => (x == null ? 'n/a' : `${(100 * x).toFixed(1)}%`);
export const num = (x: number | null | undefined): string => (x == null ? 'n/a' : x.toFixed(3));
