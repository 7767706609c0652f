// The Quantize panel's settings as the user edits them (plain strings), turned
// into the QuantizeOptions that the quantizer takes, with a clear message for
// the first thing that is wrong. Also names the output file.

import type { QuantizeOptions } from '../quant/recipes';
import { ggmlTypeByName } from '../quant/types';

/** Type names a tensor can be converted to: the recipe types plus plain F32. */
export const TARGET_TYPES = ['F32', 'F16', 'BF16', 'Q8_0', 'Q6_K', 'Q5_K', 'Q5_1', 'Q5_0', 'Q4_K', 'Q4_1', 'Q4_0', 'Q3_K', 'Q2_K'] as const;

export interface TensorTypeOverride {
  pattern: string;
  type: string;
}

/** The form as typed: empty strings mean "not set". */
export interface QuantizeForm {
  recipe: string;
  pure: boolean;
  overrides: TensorTypeOverride[];
  outputTensorType: string;
  tokenEmbeddingType: string;
}

export const DEFAULT_FORM: QuantizeForm = { recipe: 'Q4_K_M', pure: false, overrides: [], outputTensorType: '', tokenEmbeddingType: '' };

export type ParsedForm = { ok: true; options: QuantizeOptions } | { ok: false; error: string };

/** A type name in canonical spelling, or an error naming the field. */
function typeName(field: string, text: string): string {
  const type = ggmlTypeByName(text.trim());
  if (!type) throw new Error(`${field}: "${text.trim()}" is not a GGML type (e.g. Q4_K, Q6_K, Q8_0, F16)`);
  return type.name;
}

/**
 * Checks the form and builds the options. Override rows left completely empty
 * are ignored; a row with only one half filled in is an error.
 */
export function parseQuantizeForm(form: QuantizeForm): ParsedForm {
  try {
    const recipe = form.recipe.trim().toUpperCase();
    if (!recipe) throw new Error('choose a recipe or a type');
    const tensorTypes = form.overrides
      .filter((o) => o.pattern.trim() || o.type.trim())
      .map((o, i) => {
        const row = `override ${i + 1}`;
        const pattern = o.pattern.trim();
        if (!pattern) throw new Error(`${row}: the tensor name pattern is empty`);
        try {
          new RegExp(pattern);
        } catch (e) {
          throw new Error(`${row}: "${pattern}" is not a valid regular expression (${(e as Error).message})`);
        }
        if (!o.type.trim()) throw new Error(`${row}: choose a type for tensors matching "${pattern}"`);
        return { pattern, type: typeName(row, o.type) };
      });
    const options: QuantizeOptions = { recipe, pure: form.pure, tensorTypes };
    if (form.outputTensorType.trim()) options.outputTensorType = typeName('output tensor type', form.outputTensorType);
    if (form.tokenEmbeddingType.trim()) options.tokenEmbeddingType = typeName('token embedding type', form.tokenEmbeddingType);
    return { ok: true, options };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
}

/**
 * The output's file name: the source's name with its precision suffix replaced
 * by the recipe, as llama.cpp's model files are named
 * (stories260K.gguf → stories260K-Q8_0.gguf, model-f32.gguf → model-Q4_K_M.gguf).
 */
export function variantFileName(sourceName: string, recipe: string): string {
  const stem = sourceName.replace(/\.(gguf|safetensors)$/i, '').replace(/[-_.](f32|f16|bf16)$/i, '');
  return `${stem}-${recipe}.gguf`;
}

/** The settings of a plain conversion to GGUF: a safetensors model converted at F16 needs no quantization pass after. */
export const CONVERT_FORM: QuantizeForm = { ...DEFAULT_FORM, recipe: 'F16' };

/** True when `options` ask for exactly what the F16 conversion produces. */
export function isConversionOnly(options: QuantizeOptions): boolean {
  return options.recipe === 'F16' && (options.tensorTypes ?? []).length === 0 && !options.outputTensorType && !options.tokenEmbeddingType;
}

/** The name of the intermediate F16 GGUF a safetensors model is converted to before quantizing. */
export function convertedFileName(sourceName: string): string {
  return variantFileName(sourceName, 'F16');
}
