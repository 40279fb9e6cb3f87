// The benchmarks' bandwidth ceiling, a program of its own so that the library's
// binaries carry no benchmark code: what a plain float32 loop gets, with no
// compensation. Instantiated on the runtime's memory, it has no data segment.

/**
 * Plain float32 sum of n floats at `ptr` (bytes), four f32x4 accumulators so that
 * the loop is limited by memory, not by add latency: the bandwidth ceiling every
 * statistics kernel is measured against.
 */
export function sumPlain(ptr: usize, n: i32): f64 {
  let total: f64 = 0;
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    let a = f32x4.splat(0), b = f32x4.splat(0), c = f32x4.splat(0), d = f32x4.splat(0);
    for (; i + 16 <= n; i += 16) {
      const q = ptr + (<usize>i << 2);
      a = f32x4.add(a, v128.load(q));
      b = f32x4.add(b, v128.load(q, 16));
      c = f32x4.add(c, v128.load(q, 32));
      d = f32x4.add(d, v128.load(q, 48));
    }
    const s = f32x4.add(f32x4.add(a, b), f32x4.add(c, d));
    total = <f64>f32x4.extract_lane(s, 0) + <f64>f32x4.extract_lane(s, 1) +
      <f64>f32x4.extract_lane(s, 2) + <f64>f32x4.extract_lane(s, 3);
  }
  let s: f32 = 0;
  for (; i < n; i++) s += load<f32>(ptr + (<usize>i << 2));
  return total + <f64>s;
}
