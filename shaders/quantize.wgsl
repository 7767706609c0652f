// f32 → GGML quantized blocks, byte for byte as ggml's reference quantizers (and src/quant/quantize-legacy.ts,
// quantize-k.ts) write them. One entry point per type; each invocation encodes one "unit": enough whole blocks that
// their bytes fill whole u32 words (two 18-byte Q4_0 blocks, one 144-byte Q4_K block, …), so invocations never share
// an output word and need no atomics.
//
// Exactness: the CPU rounds every f32 operation once, in C's order. WGSL allows less, so:
// - a product that feeds an addition goes through `keep` (a bit-level no-op the compiler cannot see through), so it
//   is never contracted into a fused multiply-add;
// - division and square root take the hardware's result (WGSL only asks for a few ulp) as an estimate and correct
//   it with exact integer arithmetic;
// - f16 conversions are done with integer arithmetic (pack2x16float's rounding is implementation-defined).
// GPUs may flush subnormal values to zero; the host sends groups whose values are that small to the CPU encoder.

struct Params {
  // Units (block groups) in this dispatch.
  units: u32,
  // Always 0. Unknown to the compiler, so XOR-ing it into a value's bits stops algebraic rewriting (see `keep`).
  zero: u32,
}

@group(0) @binding(0) var<storage, read> src: array<u32>;
@group(0) @binding(1) var<storage, read_write> dst: array<u32>;
@group(0) @binding(2) var<uniform> params: Params;

const WORKGROUP_SIZE = 64u;

// ---------------------------------------------------------------------------------------------------------------
// Exact f32 arithmetic

/** The value itself, as a barrier: a product passed through here is rounded on its own, never fused into an add. */
fn keep(v: f32) -> f32 {
  return bitcast<f32>(bitcast<u32>(v) ^ params.zero);
}

/** a·b rounded to f32 on its own. */
fn mul(a: f32, b: f32) -> f32 {
  return keep(a * b);
}

/** Significand (with its leading 1, in [2^23, 2^24)) and unbiased exponent of a nonzero finite f32. */
fn unpack(bits: u32) -> vec2<i32> {
  var exponent = i32((bits >> 23u) & 0xffu);
  var significand = bits & 0x7fffffu;
  if (exponent == 0) {
    // Subnormal: shift the leading 1 up into place.
    exponent = 1;
    while ((significand & 0x800000u) == 0u) {
      significand = significand << 1u;
      exponent -= 1;
    }
  } else {
    significand = significand | 0x800000u;
  }
  return vec2<i32>(i32(significand), exponent - 127);
}

/**
 * The f32 nearest to significand·2^(exponent − 24) (ties to even), where `significand` has its leading 1 at bit 24
 * (one bit below the f32 precision) and `sticky` says whether nonzero bits below it were dropped.
 */
fn roundToF32(sign: u32, significand: u32, exponent: i32, sticky: bool) -> f32 {
  let biased = exponent + 127;
  if (biased >= 255) {
    return bitcast<f32>(sign | 0x7f800000u);
  }
  // Normal results drop one bit; subnormal ones more.
  var shift = 1u;
  if (biased <= 0) {
    shift = u32(2 - biased);
  }
  if (shift > 25u) {
    return bitcast<f32>(sign);
  }
  let kept = significand >> shift;
  let rest = significand & ((1u << shift) - 1u);
  let half = 1u << (shift - 1u);
  var rounded = kept;
  if (rest > half || (rest == half && (sticky || (kept & 1u) == 1u))) {
    rounded += 1u;
  }
  var bits = rounded; // subnormal: the exponent field is 0 (a carry into bit 23 makes the smallest normal)
  if (biased > 0) {
    // `rounded` carries the leading 1 at bit 23, which adds the missing 1 to the exponent field.
    bits = (u32(biased - 1) << 23u) + rounded;
  }
  return bitcast<f32>(sign | min(bits, 0x7f800000u));
}

/** Whether f32 bits are a number other than ±0, ±Infinity and NaN. */
fn isFiniteNonzero(bits: u32) -> bool {
  return (bits & 0x7fffffffu) != 0u && (bits & 0x7f800000u) != 0x7f800000u;
}

/** a / b correctly rounded (ties to even), as IEEE division. */
fn div(a: f32, b: f32) -> f32 {
  let aBits = bitcast<u32>(a);
  let bBits = bitcast<u32>(b);
  let sign = (aBits ^ bBits) & 0x80000000u;
  if (!isFiniteNonzero(bBits) || (aBits & 0x7f800000u) == 0x7f800000u) {
    return a / b; // ±Infinity, NaN or a zero divisor (only after an overflow): the hardware's IEEE result
  }
  if ((aBits & 0x7fffffffu) == 0u) {
    return bitcast<f32>(sign);
  }
  let x = unpack(aBits);
  let y = unpack(bBits);
  var dividend = u32(x.x);
  let divisor = u32(y.x);
  var exponent = x.y - y.y;
  if (dividend < divisor) {
    dividend = dividend << 1u;
    exponent -= 1;
  }
  // The ratio is now in [1, 2): its 25 leading bits (24 of precision and one more) are floor(numerator / divisor).
  // A hardware estimate, then exact integer corrections.
  let numerator = vec2<u32>(dividend << 24u, dividend >> 8u);
  var quotient = u32(f32(dividend) / f32(divisor) * 16777216.0);
  for (var i = 0; i < 8 && greater64(mulWide(quotient, divisor), numerator); i++) {
    quotient -= 1u;
  }
  for (var i = 0; i < 8 && !greater64(mulWide(quotient + 1u, divisor), numerator); i++) {
    quotient += 1u;
  }
  let product = mulWide(quotient, divisor);
  return roundToF32(sign, quotient, exponent, any(product != numerator));
}

/** The 64-bit product a·b as (low, high) words. */
fn mulWide(a: u32, b: u32) -> vec2<u32> {
  let aLow = a & 0xffffu;
  let aHigh = a >> 16u;
  let bLow = b & 0xffffu;
  let bHigh = b >> 16u;
  let lowLow = aLow * bLow;
  let middle1 = aHigh * bLow;
  let middle2 = aLow * bHigh;
  let highHigh = aHigh * bHigh;
  let middle = (lowLow >> 16u) + (middle1 & 0xffffu) + (middle2 & 0xffffu);
  let low = (lowLow & 0xffffu) | (middle << 16u);
  let high = highHigh + (middle1 >> 16u) + (middle2 >> 16u) + (middle >> 16u);
  return vec2<u32>(low, high);
}

/** Whether the 64-bit value a (low, high) is greater than b. */
fn greater64(a: vec2<u32>, b: vec2<u32>) -> bool {
  return a.y > b.y || (a.y == b.y && a.x > b.x);
}

/** √v correctly rounded, for v ≥ 0. */
fn sqrtExact(v: f32) -> f32 {
  let bits = bitcast<u32>(v);
  if (!isFiniteNonzero(bits)) {
    return sqrt(v); // 0, +Infinity or NaN
  }
  let x = unpack(bits);
  var exponent = x.y;
  var radicandShift = 23u;
  if ((exponent & 1) != 0) {
    exponent -= 1;
    radicandShift = 24u;
  }
  // v = R·2^(exponent − 46) with R = significand·2^radicandShift in [2^46, 2^48); √R is the result's significand.
  let significand = u32(x.x);
  let radicand = vec2<u32>(significand << radicandShift, significand >> (32u - radicandShift));
  // A hardware estimate, then exact integer corrections to floor(√R).
  var root = u32(sqrt(f32(significand) * f32(1u << radicandShift)));
  for (var i = 0; i < 8 && greater64(mulWide(root, root), radicand); i++) {
    root -= 1u;
  }
  for (var i = 0; i < 8 && !greater64(mulWide(root + 1u, root + 1u), radicand); i++) {
    root += 1u;
  }
  // Round up when R > root² + root, i.e. √R lies past root + ½ (it never lies exactly on it).
  let square = mulWide(root, root);
  let low = square.x + root;
  let limit = vec2<u32>(low, square.y + select(0u, 1u, low < root));
  if (greater64(radicand, limit)) {
    root += 1u;
  }
  return roundToF32(0u, root << 1u, exponent / 2, false);
}

/** ggml's nearest_int: rounding by adding 1.5·2^23 (ties to even), read back from the bits. */
fn nearestInt(v: f32) -> i32 {
  let shifted = keep(v) + 12582912.0;
  return (bitcast<i32>(shifted) & 0x7fffff) - 0x400000;
}

/** C's (int)v as x86 does it: truncation, and INT_MIN for NaN or values beyond int32. */
fn truncToInt32(v: f32) -> i32 {
  if (v >= -2147483648.0 && v < 2147483648.0) {
    return i32(v);
  }
  return i32(-2147483647 - 1);
}

/** C's (int8_t)v: the low byte of the int32 conversion, signed. */
fn toInt8(v: f32) -> i32 {
  return (truncToInt32(v) << 24u) >> 24u;
}

/** roundf: to nearest, halfway cases away from zero. */
fn roundHalfAway(v: f32) -> f32 {
  let whole = trunc(v);
  if (abs(v - whole) >= 0.5) {
    return whole + sign(v);
  }
  return whole;
}

// ---------------------------------------------------------------------------------------------------------------
// Half precision

/** f32 → f16 bits, rounding to nearest even (as ggml's GGML_FP32_TO_FP16). */
fn f16Bits(value: f32) -> u32 {
  let x = bitcast<u32>(value);
  let sign = (x >> 16u) & 0x8000u;
  let exponent = i32((x >> 23u) & 0xffu) - 127 + 15;
  var significand = x & 0x7fffffu;
  if (exponent == 255 - 127 + 15) {
    // Infinity, or NaN without its payload (ggml's canonical quiet NaN)
    return sign | select(0x7c00u, 0x7e00u, significand != 0u);
  }
  if (exponent >= 31) {
    return sign | 0x7c00u;
  }
  if (exponent <= 0) {
    if (exponent < -10) {
      return sign;
    }
    significand = significand | 0x800000u;
    let shift = u32(14 - exponent);
    let half = 1u << (shift - 1u);
    let rest = significand & ((1u << shift) - 1u);
    var h = significand >> shift;
    if (rest > half || (rest == half && (h & 1u) == 1u)) {
      h += 1u;
    }
    return sign | h;
  }
  var h = (u32(exponent) << 10u) | (significand >> 13u);
  let rest = significand & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u) == 1u)) {
    h += 1u; // a carry into the exponent is still correct
  }
  return sign | h;
}

/** f16 bits → its f32 value (exact). */
fn f16Value(h: u32) -> f32 {
  let exponent = (h >> 10u) & 0x1fu;
  let significand = h & 0x3ffu;
  var magnitude: f32;
  if (exponent == 0u) {
    magnitude = f32(significand) * bitcast<f32>(0x33800000u); // · 2^-24
  } else if (exponent == 31u) {
    magnitude = bitcast<f32>(0x7f800000u | (significand << 13u)); // Infinity or NaN
  } else {
    magnitude = bitcast<f32>(((exponent + 112u) << 23u) | (significand << 13u));
  }
  if ((h & 0x8000u) != 0u) {
    return -magnitude;
  }
  return magnitude;
}

/** f32 → bf16 bits, as ggml rounds (input finite). */
fn bf16Bits(value: f32) -> u32 {
  let x = bitcast<u32>(value);
  return ((x + (0x7fffu + ((x >> 16u) & 1u))) >> 16u) & 0xffffu;
}

// ---------------------------------------------------------------------------------------------------------------
// Input and output of one invocation

/** Index of this invocation's unit; dispatches wider than 65535 workgroups use a second dimension. */
fn unitIndex(id: vec3<u32>, groups: vec3<u32>) -> u32 {
  return id.x + id.y * groups.x * WORKGROUP_SIZE;
}

fn input(i: u32) -> f32 {
  return bitcast<f32>(src[i]);
}

/** This invocation's output bytes, gathered in words (the largest unit is two Q6_K blocks, 420 bytes). */
var<private> unitWords: array<u32, 105>;

fn putByte(at: u32, value: u32) {
  unitWords[at >> 2u] = unitWords[at >> 2u] | ((value & 0xffu) << ((at & 3u) * 8u));
}

fn putF16(at: u32, value: f32) {
  let h = f16Bits(value);
  putByte(at, h);
  putByte(at + 1u, h >> 8u);
}

/** Copies the unit's `words` output words to their place. */
fn storeUnit(unit: u32, words: u32) {
  for (var i = 0u; i < words; i++) {
    dst[unit * words + i] = unitWords[i];
  }
}

// ---------------------------------------------------------------------------------------------------------------
// F16 and BF16: two values per invocation, one output word

@compute @workgroup_size(WORKGROUP_SIZE)
fn quantize_f16(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let unit = unitIndex(id, groups);
  if (unit >= params.units) {
    return;
  }
  dst[unit] = f16Bits(input(2u * unit)) | (f16Bits(input(2u * unit + 1u)) << 16u);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn quantize_bf16(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let unit = unitIndex(id, groups);
  if (unit >= params.units) {
    return;
  }
  dst[unit] = bf16Bits(input(2u * unit)) | (bf16Bits(input(2u * unit + 1u)) << 16u);
}

// ---------------------------------------------------------------------------------------------------------------
// 32-value blocks: Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 (layouts in src/quant/dequant-legacy.ts)

/** The value of largest magnitude in the block at xo (the first one on ties), keeping its sign. */
fn signedAbsMax(xo: u32) -> f32 {
  var amax = 0.0;
  var max = 0.0;
  for (var j = 0u; j < 32u; j++) {
    let v = input(xo + j);
    if (amax < abs(v)) {
      amax = abs(v);
      max = v;
    }
  }
  return max;
}

/** Min and max of the block at xo. */
fn blockRange(xo: u32) -> vec2<f32> {
  var min = input(xo);
  var max = min;
  for (var j = 1u; j < 32u; j++) {
    let v = input(xo + j);
    if (v < min) {
      min = v;
    }
    if (v > max) {
      max = v;
    }
  }
  return vec2<f32>(min, max);
}

/** 1/d, or 0 for d = 0. */
fn inverseOrZero(d: f32) -> f32 {
  if (d == 0.0) {
    return 0.0;
  }
  return div(1.0, d);
}

/** Q4_0 (18 bytes) of block `block` at byte `o`: f16 d, nibbles; value = d·(code − 8). */
fn encodeQ4_0(block: u32, o: u32) {
  let xo = block * 32u;
  let d = div(signedAbsMax(xo), -8.0);
  let id = inverseOrZero(d);
  putF16(o, d);
  for (var j = 0u; j < 16u; j++) {
    let c0 = min(15, toInt8(mul(input(xo + j), id) + 8.5));
    let c1 = min(15, toInt8(mul(input(xo + j + 16u), id) + 8.5));
    putByte(o + 2u + j, u32(c0 | (c1 << 4u)));
  }
}

/** Q4_1 (20 bytes): f16 d, f16 m, nibbles; value = d·code + m. */
fn encodeQ4_1(block: u32, o: u32) {
  let xo = block * 32u;
  let range = blockRange(xo);
  let d = div(range.y - range.x, 15.0);
  let id = inverseOrZero(d);
  putF16(o, d);
  putF16(o + 2u, range.x);
  for (var j = 0u; j < 16u; j++) {
    let c0 = min(15, toInt8(mul(input(xo + j) - range.x, id) + 0.5));
    let c1 = min(15, toInt8(mul(input(xo + j + 16u) - range.x, id) + 0.5));
    putByte(o + 4u + j, u32(c0 | (c1 << 4u)));
  }
}

/** Stores 32 five-bit codes: nibbles at qsAt (value j low, j+16 high), the fifth bits as a u32 at qhAt. */
fn putFiveBitCodes(codes: array<i32, 32>, qhAt: u32, qsAt: u32) {
  var qh = 0u;
  for (var j = 0u; j < 16u; j++) {
    let c0 = codes[j];
    let c1 = codes[j + 16u];
    putByte(qsAt + j, u32((c0 & 0xf) | ((c1 & 0xf) << 4u)));
    qh = qh | (u32((c0 & 0x10) >> 4u) << j);
    qh = qh | (u32((c1 & 0x10) >> 4u) << (j + 16u));
  }
  for (var k = 0u; k < 4u; k++) {
    putByte(qhAt + k, qh >> (8u * k));
  }
}

/** Q5_0 (22 bytes): f16 d, u32 fifth bits, nibbles; value = d·(code − 16). */
fn encodeQ5_0(block: u32, o: u32) {
  let xo = block * 32u;
  let d = div(signedAbsMax(xo), -16.0);
  let id = inverseOrZero(d);
  putF16(o, d);
  var codes: array<i32, 32>;
  for (var j = 0u; j < 32u; j++) {
    codes[j] = min(31, toInt8(mul(input(xo + j), id) + 16.5));
  }
  putFiveBitCodes(codes, o + 2u, o + 6u);
}

/** Q5_1 (24 bytes): f16 d, f16 m, u32 fifth bits, nibbles; value = d·code + m. */
fn encodeQ5_1(block: u32, o: u32) {
  let xo = block * 32u;
  let range = blockRange(xo);
  let d = div(range.y - range.x, 31.0);
  let id = inverseOrZero(d);
  putF16(o, d);
  putF16(o + 2u, range.x);
  var codes: array<i32, 32>;
  for (var j = 0u; j < 32u; j++) {
    // (uint8_t) in C: the low byte, no clamp.
    codes[j] = truncToInt32(mul(input(xo + j) - range.x, id) + 0.5) & 0xff;
  }
  putFiveBitCodes(codes, o + 4u, o + 8u);
}

/** Q8_0 (34 bytes): f16 d, 32 int8 codes; value = d·code. */
fn encodeQ8_0(block: u32, o: u32) {
  let xo = block * 32u;
  var amax = 0.0;
  for (var j = 0u; j < 32u; j++) {
    amax = max(amax, abs(input(xo + j)));
  }
  let d = div(amax, 127.0);
  let id = inverseOrZero(d);
  putF16(o, d);
  for (var j = 0u; j < 32u; j++) {
    putByte(o + 2u + j, u32(toInt8(roundHalfAway(mul(input(xo + j), id)))));
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn quantize_q4_0(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let unit = unitIndex(id, groups);
  if (unit >= params.units) {
    return;
  }
  encodeQ4_0(2u * unit, 0u);
  encodeQ4_0(2u * unit + 1u, 18u);
  storeUnit(unit, 9u);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn quantize_q4_1(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let unit = unitIndex(id, groups);
  if (unit >= params.units) {
    return;
  }
  encodeQ4_1(unit, 0u);
  storeUnit(unit, 5u);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn quantize_q5_0(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let unit = unitIndex(id, groups);
  if (unit >= params.units) {
    return;
  }
  encodeQ5_0(2u * unit, 0u);
  encodeQ5_0(2u * unit + 1u, 22u);
  storeUnit(unit, 11u);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn quantize_q5_1(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let unit = unitIndex(id, groups);
  if (unit >= params.units) {
    return;
  }
  encodeQ5_1(unit, 0u);
  storeUnit(unit, 6u);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn quantize_q8_0(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let unit = unitIndex(id, groups);
  if (unit >= params.units) {
    return;
  }
  encodeQ8_0(2u * unit, 0u);
  encodeQ8_0(2u * unit + 1u, 34u);
  storeUnit(unit, 17u);
}

// ---------------------------------------------------------------------------------------------------------------
// 256-value super-blocks: Q4_K, Q5_K, Q6_K (layouts in src/quant/dequant-k.ts)

/** ggml treats a group whose largest magnitude is below this (f32 of 1e-15) as all zero. */
const GROUP_MAX_EPS = bitcast<f32>(0x26901d7du);
/** f32 of 0.1, written by its bits so no literal conversion can round it differently. */
fn tenth() -> f32 {
  return bitcast<f32>(0x3dcccccdu);
}

/** The current super-block's values, its codes, and per-group fitting state. */
var<private> xs: array<f32, 256>;
var<private> codes: array<i32, 256>;
var<private> trialCodes: array<i32, 32>;
var<private> weights: array<f32, 32>;
var<private> groupScales: array<f32, 16>;
var<private> groupMins: array<f32, 16>;

fn loadSuperBlock(block: u32) {
  for (var i = 0u; i < 256u; i++) {
    xs[i] = input(block * 256u + i);
  }
}

/**
 * ggml's make_qkx2_quants (squared error, as Q4_K/Q5_K use it): codes in [0, nmax] for xs[xo..xo+n) with a scale
 * and a min (≤ 0) fitted by `weights`-weighted least squares over nstep+1 trial scales. Writes codes at codes[xo..],
 * −min to groupMins[group], and returns the scale.
 */
fn makeQkx2Quants(n: u32, nmax: i32, xo: u32, group: u32, rmin: f32, rdelta: f32, nstep: i32) -> f32 {
  var min = xs[xo];
  var max = xs[xo];
  var sumW = weights[0];
  var sumX = mul(sumW, xs[xo]);
  for (var i = 1u; i < n; i++) {
    let xi = xs[xo + i];
    if (xi < min) {
      min = xi;
    }
    if (xi > max) {
      max = xi;
    }
    let w = weights[i];
    sumW = sumW + w;
    sumX = sumX + mul(w, xi);
  }
  if (min > 0.0) {
    min = 0.0;
  }
  if (max == min) {
    for (var i = 0u; i < n; i++) {
      codes[xo + i] = 0;
    }
    groupMins[group] = -min;
    return 0.0;
  }
  let nmaxF = f32(nmax);
  var iscale = div(nmaxF, max - min);
  var scale = div(1.0, iscale);
  var bestError = 0.0;
  for (var i = 0u; i < n; i++) {
    let xi = xs[xo + i];
    let l = clamp(nearestInt(iscale * (xi - min)), 0, nmax);
    codes[xo + i] = l;
    let diff = (mul(scale, f32(l)) + min) - xi;
    bestError = bestError + mul(weights[i], diff * diff);
  }
  for (var step = 0; step <= nstep; step++) {
    // min moves to the best fit found so far, and later trials measure from it (as ggml does).
    iscale = div((rmin + mul(rdelta, f32(step))) + nmaxF, max - min);
    var sumL = 0.0;
    var sumL2 = 0.0;
    var sumXL = 0.0;
    for (var i = 0u; i < n; i++) {
      let xi = xs[xo + i];
      let l = clamp(nearestInt(iscale * (xi - min)), 0, nmax);
      trialCodes[i] = l;
      let wl = mul(weights[i], f32(l));
      sumL = sumL + wl;
      sumL2 = sumL2 + mul(wl, f32(l));
      sumXL = sumXL + mul(wl, xi);
    }
    let D = mul(sumW, sumL2) - mul(sumL, sumL);
    if (D > 0.0) {
      var thisScale = div(mul(sumW, sumXL) - mul(sumX, sumL), D);
      var thisMin = div(mul(sumL2, sumX) - mul(sumL, sumXL), D);
      if (thisMin > 0.0) {
        thisMin = 0.0;
        thisScale = div(sumXL, sumL2);
      }
      var error = 0.0;
      for (var i = 0u; i < n; i++) {
        let diff = (mul(thisScale, f32(trialCodes[i])) + thisMin) - xs[xo + i];
        error = error + mul(weights[i], diff * diff);
      }
      if (error < bestError) {
        for (var i = 0u; i < n; i++) {
          codes[xo + i] = trialCodes[i];
        }
        bestError = error;
        scale = thisScale;
        min = thisMin;
      }
    }
  }
  groupMins[group] = -min;
  return scale;
}

/**
 * Q4_K (144 bytes) or Q5_K (176 bytes, with the fifth bits) of super-block `block`: f16 d, f16 dmin, eight 6-bit
 * scales and mins in 12 bytes, [Q5_K: 32 bytes of fifth bits], 128 bytes of nibbles.
 */
fn encodeQ4_KOrQ5_K(block: u32, hasHighBits: bool) {
  var nmax = 15;
  var rmin = -1.0;
  var nstep = 20;
  var codesAt = 16u;
  if (hasHighBits) {
    nmax = 31;
    rmin = -0.5;
    nstep = 15;
    codesAt = 48u;
  }
  loadSuperBlock(block);
  var maxScale = 0.0;
  var maxMin = 0.0;
  for (var j = 0u; j < 8u; j++) {
    let go = 32u * j;
    var sumX2 = 0.0;
    for (var l = 0u; l < 32u; l++) {
      sumX2 = sumX2 + mul(xs[go + l], xs[go + l]);
    }
    let avX = sqrtExact(div(sumX2, 32.0));
    for (var l = 0u; l < 32u; l++) {
      weights[l] = avX + abs(xs[go + l]);
    }
    let scale = makeQkx2Quants(32u, nmax, go, j, rmin, tenth(), nstep);
    groupScales[j] = scale;
    if (scale > maxScale) {
      maxScale = scale;
    }
    if (groupMins[j] > maxMin) {
      maxMin = groupMins[j];
    }
  }
  var invScale = 0.0;
  if (maxScale > 0.0) {
    invScale = div(63.0, maxScale);
  }
  var invMin = 0.0;
  if (maxMin > 0.0) {
    invMin = div(63.0, maxMin);
  }
  // The 6-bit scales and mins: j < 4 in the low 6 bits of bytes j and j+4; j ≥ 4 split into nibbles of byte j+4
  // and the top two bits of bytes j−4 and j.
  var scales: array<u32, 12>;
  var groupScale: array<u32, 8>;
  var groupMin: array<u32, 8>;
  for (var j = 0u; j < 8u; j++) {
    // C stores these in uint8_t before clamping to 63.
    let ls = min(63u, u32(nearestInt(invScale * groupScales[j])) & 0xffu);
    let lm = min(63u, u32(nearestInt(invMin * groupMins[j])) & 0xffu);
    groupScale[j] = ls;
    groupMin[j] = lm;
    if (j < 4u) {
      scales[j] = ls;
      scales[j + 4u] = lm;
    } else {
      scales[j + 4u] = (ls & 0xfu) | ((lm & 0xfu) << 4u);
      scales[j - 4u] = scales[j - 4u] | ((ls >> 4u) << 6u);
      scales[j] = scales[j] | ((lm >> 4u) << 6u);
    }
  }
  let dBits = f16Bits(div(maxScale, 63.0));
  let dminBits = f16Bits(div(maxMin, 63.0));
  putByte(0u, dBits);
  putByte(1u, dBits >> 8u);
  putByte(2u, dminBits);
  putByte(3u, dminBits >> 8u);
  for (var k = 0u; k < 12u; k++) {
    putByte(4u + k, scales[k]);
  }
  // Re-derive the codes against the scales as stored (f16 and 6-bit), so decoding matches what was fitted.
  let d = f16Value(dBits);
  let dmin = f16Value(dminBits);
  for (var j = 0u; j < 8u; j++) {
    let scale = d * f32(groupScale[j]);
    if (scale == 0.0) {
      continue; // as in C, a NaN scale is not skipped
    }
    let min = mul(dmin, f32(groupMin[j]));
    for (var i = 0u; i < 32u; i++) {
      codes[32u * j + i] = clamp(nearestInt(div(xs[32u * j + i] + min, scale)), 0, nmax);
    }
  }
  // Each 64 values share 32 bytes, the first 32 in the low nibbles. Q5_K's fifth bits: bit 2k (first 32) and 2k+1
  // (second 32) of byte l for the k-th 64.
  for (var l = 0u; l < 32u; l++) {
    var highBits = 0u;
    for (var k = 0u; k < 4u; k++) {
      var l1 = u32(codes[64u * k + l]);
      var l2 = u32(codes[64u * k + l + 32u]);
      if (hasHighBits) {
        if (l1 > 15u) {
          l1 -= 16u;
          highBits = highBits | (1u << (2u * k));
        }
        if (l2 > 15u) {
          l2 -= 16u;
          highBits = highBits | (2u << (2u * k));
        }
      }
      putByte(codesAt + 32u * k + l, l1 | (l2 << 4u));
    }
    if (hasHighBits) {
      putByte(16u + l, highBits);
    }
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn quantize_q4_k(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let unit = unitIndex(id, groups);
  if (unit >= params.units) {
    return;
  }
  encodeQ4_KOrQ5_K(unit, false);
  storeUnit(unit, 36u);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn quantize_q5_k(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let unit = unitIndex(id, groups);
  if (unit >= params.units) {
    return;
  }
  encodeQ4_KOrQ5_K(unit, true);
  storeUnit(unit, 44u);
}

/**
 * ggml's make_qx_quants (rmse_type 1, no importance weights): symmetric codes in [−nmax, nmax) for xs[xo..xo+n),
 * with a scale fitted by x²-weighted least squares over 18 trial scales. Writes codes + nmax at codes[xo..] and
 * returns the scale.
 */
fn makeQxQuants(n: u32, nmax: i32, xo: u32) -> f32 {
  var max = 0.0;
  var amax = 0.0;
  for (var i = 0u; i < n; i++) {
    let ax = abs(xs[xo + i]);
    if (ax > amax) {
      amax = ax;
      max = xs[xo + i];
    }
  }
  if (amax < GROUP_MAX_EPS) {
    for (var i = 0u; i < n; i++) {
      codes[xo + i] = 0;
    }
    return 0.0;
  }
  let nmaxF = f32(nmax);
  var iscale = div(-nmaxF, max);
  var sumlx = 0.0;
  var suml2 = 0.0;
  for (var i = 0u; i < n; i++) {
    let xi = xs[xo + i];
    let l = clamp(nearestInt(iscale * xi), -nmax, nmax - 1);
    codes[xo + i] = l + nmax;
    let w = xi * xi;
    sumlx = sumlx + mul(w * xi, f32(l));
    suml2 = suml2 + mul(w * f32(l), f32(l));
  }
  var scale = 0.0;
  if (suml2 != 0.0) {
    scale = div(sumlx, suml2);
  }
  var best = scale * sumlx;
  for (var step = -9; step <= 9; step++) {
    if (step == 0) {
      continue;
    }
    iscale = div(-(nmaxF + mul(tenth(), f32(step))), max);
    sumlx = 0.0;
    suml2 = 0.0;
    for (var i = 0u; i < n; i++) {
      let xi = xs[xo + i];
      let l = clamp(nearestInt(iscale * xi), -nmax, nmax - 1);
      let w = xi * xi;
      sumlx = sumlx + mul(w * xi, f32(l));
      suml2 = suml2 + mul(w * f32(l), f32(l));
    }
    if (suml2 > 0.0 && sumlx * sumlx > best * suml2) {
      for (var i = 0u; i < n; i++) {
        codes[xo + i] = nmax + clamp(nearestInt(iscale * xs[xo + i]), -nmax, nmax - 1);
      }
      scale = div(sumlx, suml2);
      best = scale * sumlx;
    }
  }
  return scale;
}

/** Q6_K (210 bytes) of super-block `block` at byte `o`: low nibbles [128], high 2 bits [64], 16 int8 scales, f16 d. */
fn encodeQ6_K(block: u32, o: u32) {
  loadSuperBlock(block);
  var maxScale = 0.0;
  var maxAbsScale = 0.0;
  for (var ib = 0u; ib < 16u; ib++) {
    let scale = makeQxQuants(16u, 32, 16u * ib);
    groupScales[ib] = scale;
    if (abs(scale) > maxAbsScale) {
      maxAbsScale = abs(scale);
      maxScale = scale;
    }
  }
  if (maxAbsScale < GROUP_MAX_EPS) {
    return; // all 210 bytes stay zero
  }
  let iscale = div(-128.0, maxScale);
  let dBits = f16Bits(div(1.0, iscale));
  putByte(o + 208u, dBits);
  putByte(o + 209u, dBits >> 8u);
  let d = f16Value(dBits);
  for (var ib = 0u; ib < 16u; ib++) {
    let sc = (min(127, nearestInt(iscale * groupScales[ib])) << 24u) >> 24u;
    putByte(o + 192u + ib, u32(sc));
    let scale = d * f32(sc);
    if (scale == 0.0) {
      continue; // as in C, a NaN scale is not skipped
    }
    for (var i = 0u; i < 16u; i++) {
      codes[16u * ib + i] = clamp(nearestInt(div(xs[16u * ib + i], scale)), -32, 31) + 32;
    }
  }
  // Each 128 values: low nibbles in 64 bytes (values l and l+64 share byte l, l+32 and l+96 byte l+32), the top two
  // bits of values l, l+32, l+64, l+96 in byte l of 32.
  for (var half = 0u; half < 2u; half++) {
    let j = 128u * half;
    let ql = o + 64u * half;
    let qh = o + 128u + 32u * half;
    for (var l = 0u; l < 32u; l++) {
      let c1 = u32(codes[j + l]);
      let c2 = u32(codes[j + l + 32u]);
      let c3 = u32(codes[j + l + 64u]);
      let c4 = u32(codes[j + l + 96u]);
      putByte(ql + l, (c1 & 0xfu) | ((c3 & 0xfu) << 4u));
      putByte(ql + l + 32u, (c2 & 0xfu) | ((c4 & 0xfu) << 4u));
      putByte(qh + l, (c1 >> 4u) | ((c2 >> 4u) << 2u) | ((c3 >> 4u) << 4u) | ((c4 >> 4u) << 6u));
    }
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn quantize_q6_k(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let unit = unitIndex(id, groups);
  if (unit >= params.units) {
    return;
  }
  encodeQ6_K(2u * unit, 0u);
  encodeQ6_K(2u * unit + 1u, 210u);
  storeUnit(unit, 105u);
}
