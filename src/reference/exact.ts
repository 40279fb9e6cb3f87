// Ground truth for sums: Shewchuk's exact summation (the msum of "Adaptive
// Precision Floating-Point Arithmetic", 1997, as in Python's math.fsum) and
// Dekker's exact product, so that Σ a_i·b_i is known to the last bit.

/** The sum of `values`, correctly rounded to float64 (exact partials inside). */
export function exactSum(values: Iterable<number>): number {
  const acc = new ExactSum();
  for (const v of values) acc.add(v);
  return acc.value();
}

/** A running exact sum: a list of non-overlapping partials whose sum is exact. */
export class ExactSum {
  private partials: number[] = [];

  add(x: number): void {
    const p = this.partials;
    let i = 0;
    for (const q of p) {
      let y = q;
      if (Math.abs(x) < Math.abs(y)) [x, y] = [y, x];
      const hi = x + y;
      const lo = y - (hi - x);
      if (lo !== 0) p[i++] = lo;
      x = hi;
    }
    p.length = i;
    p.push(x);
  }

  /** Adds a·b exactly (as the two halves of Dekker's product). */
  addProduct(a: number, b: number): void {
    const [hi, lo] = twoProduct(a, b);
    this.add(hi);
    this.add(lo);
  }

  /** The sum, correctly rounded (round-half-even across the partials). */
  value(): number {
    const p = this.partials;
    let n = p.length;
    if (n === 0) return 0;
    let hi = p[--n]!;
    let lo = 0;
    while (n > 0) {
      const x = hi;
      const y = p[--n]!;
      hi = x + y;
      lo = y - (hi - x);
      if (lo !== 0) break;
    }
    // the remaining partials may decide a tie
    if (n > 0 && ((lo < 0 && p[n - 1]! < 0) || (lo > 0 && p[n - 1]! > 0))) {
      const y = lo * 2;
      const x = hi + y;
      if (y === x - hi) hi = x;
    }
    return hi;
  }
}

const SPLIT = 134217729; // 2^27 + 1, Veltkamp's splitter for float64

function split(a: number): [number, number] {
  const c = SPLIT * a;
  const hi = c - (c - a);
  return [hi, a - hi];
}

/** [hi, lo] with hi = fl(a·b) and hi + lo = a·b exactly (no overflow assumed). */
export function twoProduct(a: number, b: number): [number, number] {
  const hi = a * b;
  const [ah, al] = split(a);
  const [bh, bl] = split(b);
  const lo = al * bl - (hi - ah * bh - al * bh - ah * bl);
  return [hi, lo];
}
