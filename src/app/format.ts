// Number formatting for the inspector: short human forms for counts and sizes,
// exact grouped forms where precision matters.

/** Three significant digits, without trailing zeros: 1.10 → "1.1", 293 → "293". */
function short(value: number): string {
  return String(Number(value.toPrecision(3)));
}

const COUNT_UNITS: [number, string][] = [[1e12, 'T'], [1e9, 'B'], [1e6, 'M'], [1e3, 'K']];

/** Parameter counts the way model cards write them: 292800 → "293K", 1100048384 → "1.1B". */
export function humanCount(n: number): string {
  for (const [scale, unit] of COUNT_UNITS) {
    // Compare after rounding so that 999_999 becomes "1M", not "1000K".
    if (Number((n / scale).toPrecision(3)) >= 1) return short(n / scale) + unit;
  }
  return String(n);
}

const BYTE_UNITS = ['KiB', 'MiB', 'GiB', 'TiB'];

/** Sizes in binary units: 1185376 → "1.13 MiB". */
export function humanBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${short(value)} ${BYTE_UNITS[unit]}`;
}

const grouped = new Intl.NumberFormat('en-US');

/** Exact integers with thousands separators: 1185376 → "1,185,376". */
export function exact(n: number): string {
  return grouped.format(n);
}

/** Statistics values: compact but precise enough to compare tensors. */
export function statValue(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? '+Inf' : '−Inf';
  if (x === 0) return '0';
  const magnitude = Math.abs(x);
  return magnitude >= 1e5 || magnitude < 1e-3 ? x.toExponential(3) : String(Number(x.toPrecision(5)));
}

export function percent(fraction: number): string {
  if (fraction === 0) return '0%';
  const p = fraction * 100;
  return p < 0.01 ? '<0.01%' : `${String(Number(p.toPrecision(3)))}%`;
}

/** How many rows a filter leaves: "48 tensors", or "5 of 48 tensors". */
export function countText(shown: number, total: number, noun: string): string {
  return shown === total ? `${exact(total)} ${noun}` : `${exact(shown)} of ${exact(total)} ${noun}`;
}

/** Tensor shapes: [64, 512] → "64 × 512". */
export function shapeText(shape: number[]): string {
  return shape.length === 0 ? 'scalar' : shape.join(' × ');
}

/**
 * The shortest decimal that reads back as the same float32: GGUF stores
 * 1e-5 as an f32, which printed as a double would be 0.000009999999747378752.
 */
export function float32Text(x: number): string {
  for (let digits = 1; digits < 9; digits++) {
    const candidate = Number(x.toPrecision(digits));
    if (Math.fround(candidate) === x) return String(candidate);
  }
  return String(x);
}

/**
 * A metadata value or array item as text. Strings are quoted so that
 * whitespace tokens stay visible; f32 values are printed as float32.
 */
export function itemText(item: string | number | boolean | null, type = ''): string {
  if (typeof item === 'string') return JSON.stringify(item);
  if (typeof item === 'number' && /\bf32\b/.test(type)) return float32Text(item);
  return String(item);
}

/** Durations for "time left": 4.2 → "5 s", 135 → "2 min 15 s", 7260 → "2 h 1 min". Rounded up, never "0 s" before the end. */
export function durationText(seconds: number): string {
  const whole = Math.max(0, Math.ceil(seconds));
  if (whole < 60) return `${whole} s`;
  if (whole < 3600) return `${Math.floor(whole / 60)} min ${whole % 60} s`;
  return `${Math.floor(whole / 3600)} h ${Math.floor((whole % 3600) / 60)} min`;
}
