// Recognizes safetensors checkpoints that were already quantized by another
// toolkit, from their tensor names (and config.json when present), so the
// inspector can label them and count their weights correctly.
//
//   GPTQ:   *.qweight (int32, packed along the input dim), *.qzeros, *.scales, *.g_idx
//   AWQ:    *.qweight (int32, packed along the output dim), *.qzeros, *.scales, no g_idx
//   MLX:    *.weight (uint32 packed), *.scales, *.biases
//   bitsandbytes 4-bit: *.weight (uint8, two codes a byte) with *.weight.absmax, *.weight.quant_map, *.weight.quant_state.*
//   bitsandbytes 8-bit: *.weight (int8) with *.SCB

export type QuantizedScheme = 'GPTQ' | 'AWQ' | 'MLX' | 'bitsandbytes-4bit' | 'bitsandbytes-8bit';

export interface QuantizedLayout {
  scheme: QuantizedScheme;
  bits: number | null;
  groupSize: number | null;
}

interface TensorLike {
  name: string;
  type: string;
  shape: number[];
}

function find(tensors: TensorLike[], suffix: string): TensorLike | undefined {
  return tensors.find((t) => t.name.endsWith(suffix));
}

function withPrefix(tensors: TensorLike[], prefix: string, suffix: string): TensorLike | undefined {
  return tensors.find((t) => t.name === prefix + suffix);
}

function configQuant(config: Record<string, unknown>): Record<string, unknown> {
  const q = config.quantization_config ?? config.quantization;
  return q && typeof q === 'object' ? (q as Record<string, unknown>) : {};
}

function positive(v: unknown): number | null {
  return typeof v === 'number' && v > 0 ? v : null;
}

export function detectQuantizedLayout(tensors: TensorLike[], config: Record<string, unknown>): QuantizedLayout | null {
  const q = configQuant(config);
  const method = typeof q.quant_method === 'string' ? q.quant_method.toLowerCase() : '';

  const qweight = find(tensors, '.qweight');
  if (qweight) {
    const prefix = qweight.name.slice(0, -'.qweight'.length);
    const scales = withPrefix(tensors, prefix, '.scales');
    const gIdx = withPrefix(tensors, prefix, '.g_idx');
    const isAwq = method === 'awq' || (method === '' && !gIdx);
    if (isAwq) {
      // AWQ: qweight [in, out*bits/32], scales [in/group, out].
      const bits = positive(q.bits ?? q.w_bit) ?? (scales && qweight.shape.length === 2 ? (32 * qweight.shape[1]!) / scales.shape[1]! : null);
      const group = positive(q.group_size ?? q.q_group_size) ?? (scales ? qweight.shape[0]! / scales.shape[0]! : null);
      return { scheme: 'AWQ', bits, groupSize: group };
    }
    // GPTQ: qweight [in*bits/32, out], g_idx [in], scales [in/group, out].
    const inFeatures = gIdx?.shape[0];
    const bits = positive(q.bits) ?? (inFeatures ? (32 * qweight.shape[0]!) / inFeatures : null);
    const group = positive(q.group_size) ?? (inFeatures && scales ? inFeatures / scales.shape[0]! : null);
    return { scheme: 'GPTQ', bits, groupSize: group };
  }

  if (find(tensors, '.weight.absmax') || find(tensors, '.weight.quant_map') || tensors.some((t) => t.name.includes('.weight.quant_state.'))) {
    return { scheme: 'bitsandbytes-4bit', bits: 4, groupSize: positive(q.bnb_4bit_blocksize) ?? 64 };
  }
  if (find(tensors, '.SCB')) return { scheme: 'bitsandbytes-8bit', bits: 8, groupSize: null };

  const mlxScales = tensors.find((t) => t.name.endsWith('.scales') && withPrefix(tensors, t.name.slice(0, -'.scales'.length), '.biases'));
  if (mlxScales) {
    return { scheme: 'MLX', bits: positive(q.bits), groupSize: positive(q.group_size) };
  }
  return null;
}

const AUXILIARY_SUFFIXES = ['.qzeros', '.scales', '.g_idx', '.biases', '.absmax', '.quant_map', '.nested_absmax', '.nested_quant_map', '.SCB', '.weight_format'];

/**
 * Logical weights per stored element: 0 for the bookkeeping tensors of a
 * quantized layout (scales, zeros, indices), 32/bits for int32-packed weights,
 * 2 for bitsandbytes' two-codes-a-byte weights, 1 for everything else.
 */
export function packedElementFactor(t: TensorLike, layout: QuantizedLayout | null): number {
  if (!layout) return 1;
  if (AUXILIARY_SUFFIXES.some((s) => t.name.endsWith(s)) || t.name.includes('.quant_state.')) return 0;
  const packed32 = (t.type === 'I32' || t.type === 'U32') && (t.name.endsWith('.qweight') || t.name.endsWith('.weight'));
  if (packed32 && layout.bits) return 32 / layout.bits;
  if (layout.scheme === 'bitsandbytes-4bit' && t.type === 'U8' && t.name.endsWith('.weight')) return 2;
  return 1;
}
