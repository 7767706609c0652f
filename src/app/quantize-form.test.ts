import { describe, expect, it } from 'vitest';
import { CONVERT_FORM, convertedFileName, DEFAULT_FORM, isConversionOnly, parseQuantizeForm, variantFileName, type QuantizeForm } from './quantize-form';

const form = (patch: Partial<QuantizeForm>): QuantizeForm => ({ ...DEFAULT_FORM, ...patch });

describe('parseQuantizeForm', () => {
  it('turns the settings into quantizer options with canonical type names', () => {
    const parsed = parseQuantizeForm(form({
      recipe: ' q4_k_m ',
      pure: true,
      overrides: [{ pattern: 'attn_v', type: 'q8_0' }, { pattern: '', type: '' }, { pattern: '^blk\\.0\\.', type: 'Q6_K' }],
      outputTensorType: 'f16',
      tokenEmbeddingType: ' Q4_K',
    }));
    expect(parsed).toEqual({
      ok: true,
      options: {
        recipe: 'Q4_K_M',
        pure: true,
        tensorTypes: [{ pattern: 'attn_v', type: 'Q8_0' }, { pattern: '^blk\\.0\\.', type: 'Q6_K' }],
        outputTensorType: 'F16',
        tokenEmbeddingType: 'Q4_K',
      },
    });
  });

  it('leaves unset types out', () => {
    expect(parseQuantizeForm(DEFAULT_FORM)).toEqual({ ok: true, options: { recipe: 'Q4_K_M', pure: false, tensorTypes: [] } });
  });

  it('names what is wrong', () => {
    const error = (patch: Partial<QuantizeForm>) => {
      const parsed = parseQuantizeForm(form(patch));
      return parsed.ok ? null : parsed.error;
    };
    expect(error({ recipe: '' })).toBe('choose a recipe or a type');
    expect(error({ outputTensorType: 'Q7_K' })).toBe('output tensor type: "Q7_K" is not a GGML type (e.g. Q4_K, Q6_K, Q8_0, F16)');
    expect(error({ tokenEmbeddingType: 'int4' })).toMatch(/^token embedding type: "int4" is not a GGML type/);
    expect(error({ overrides: [{ pattern: 'blk.(0', type: 'Q8_0' }] })).toMatch(/^override 1: "blk\.\(0" is not a valid regular expression \(/);
    expect(error({ overrides: [{ pattern: 'ffn', type: 'Q8_0' }, { pattern: 'attn', type: 'Q9' }] })).toMatch(/^override 2: "Q9" is not a GGML type/);
    expect(error({ overrides: [{ pattern: '', type: 'Q8_0' }] })).toBe('override 1: the tensor name pattern is empty');
    expect(error({ overrides: [{ pattern: 'ffn_down', type: ' ' }] })).toBe('override 1: choose a type for tensors matching "ffn_down"');
  });
});

describe('variantFileName', () => {
  it('replaces the precision suffix with the recipe', () => {
    expect(variantFileName('stories260K.gguf', 'Q8_0')).toBe('stories260K-Q8_0.gguf');
    expect(variantFileName('random-llama-256x4-f32.gguf', 'Q4_K_M')).toBe('random-llama-256x4-Q4_K_M.gguf');
    expect(variantFileName('Llama-3.2-1B-Instruct-BF16.GGUF', 'Q6_K')).toBe('Llama-3.2-1B-Instruct-Q6_K.gguf');
    expect(variantFileName('model.f16.gguf', 'Q5_K_S')).toBe('model-Q5_K_S.gguf');
    expect(variantFileName('model.safetensors', 'Q4_K_M')).toBe('model-Q4_K_M.gguf');
    expect(convertedFileName('model.safetensors')).toBe('model-F16.gguf');
  });
});

describe('isConversionOnly', () => {
  const options = (form: QuantizeForm) => {
    const parsed = parseQuantizeForm(form);
    if (!parsed.ok) throw new Error(parsed.error);
    return parsed.options;
  };
  it('is true only for plain F16, which the conversion itself produces', () => {
    expect(isConversionOnly(options(CONVERT_FORM))).toBe(true);
    expect(isConversionOnly(options({ ...CONVERT_FORM, pure: true }))).toBe(true);
    expect(isConversionOnly(options(DEFAULT_FORM))).toBe(false);
    expect(isConversionOnly(options({ ...CONVERT_FORM, outputTensorType: 'Q8_0' }))).toBe(false);
    expect(isConversionOnly(options({ ...CONVERT_FORM, overrides: [{ pattern: 'attn', type: 'Q8_0' }] }))).toBe(false);
  });
});
