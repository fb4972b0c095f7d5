// "Did you mean …?" for unknown keys and options.

/** Edit distance with adjacent transpositions (optimal string alignment), case-insensitive. */
export function editDistance(a: string, b: string): number {
  a = a.toLowerCase();
  b = b.toLowerCase();
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * Up to three candidates close to `name`: those with the same last dotted segment first (`d` →
 * `model.d`), then those within a small edit distance, then (for a name without a dot) those whose
 * last segment contains it (`warmup` → `optim.warmupSteps`).
 */
export function closeMatches(name: string, candidates: readonly string[]): string[] {
  const last = (s: string): string => s.slice(s.lastIndexOf(".") + 1).toLowerCase();
  const found: string[] = candidates.filter((c) => last(c) === last(name));
  const limit = Math.max(1, Math.floor(name.length / 4));
  const near = candidates.map((c) => ({ c, d: editDistance(name, c) })).filter(({ d }) => d <= limit).sort((x, y) => x.d - y.d);
  for (const { c } of near) if (!found.includes(c)) found.push(c);
  if (!name.includes(".") && name.length >= 3) {
    for (const c of candidates) if (last(c).includes(name.toLowerCase()) && !found.includes(c)) found.push(c);
  }
  return found.slice(0, 3);
}
