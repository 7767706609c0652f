import { describe, expect, it } from 'vitest';
import { countText, durationText, exact, float32Text, humanBytes, humanCount, itemText, percent, shapeText, statValue } from './format';

describe('humanCount', () => {
  it('writes parameter counts as model cards do', () => {
    expect(humanCount(292_800)).toBe('293K');
    expect(humanCount(1_100_048_384)).toBe('1.1B');
    expect(humanCount(6_738_415_616)).toBe('6.74B');
    expect(humanCount(999)).toBe('999');
    expect(humanCount(999_999)).toBe('1M');
    expect(humanCount(0)).toBe('0');
  });
});

describe('humanBytes', () => {
  it('uses binary units with three significant digits', () => {
    expect(humanBytes(0)).toBe('0 B');
    expect(humanBytes(1023)).toBe('1023 B');
    expect(humanBytes(1024)).toBe('1 KiB');
    expect(humanBytes(1_185_376)).toBe('1.13 MiB');
    expect(humanBytes(4 * 1024 ** 3)).toBe('4 GiB');
  });
});

describe('other formats', () => {
  it('formats exact counts, statistics, percentages, shapes and items', () => {
    expect(exact(1_185_376)).toBe('1,185,376');
    expect(countText(48, 48, 'tensors')).toBe('48 tensors');
    expect(countText(5, 12_000, 'tensors')).toBe('5 of 12,000 tensors');
    expect(statValue(0.123456789)).toBe('0.12346');
    expect(statValue(-2.5e-5)).toBe('-2.500e-5');
    expect(statValue(Number.POSITIVE_INFINITY)).toBe('+Inf');
    expect(statValue(Number.NaN)).toBe('NaN');
    expect(percent(0.0123)).toBe('1.23%');
    expect(percent(0)).toBe('0%');
    expect(percent(1e-6)).toBe('<0.01%');
    expect(shapeText([64, 512])).toBe('64 × 512');
    expect(shapeText([])).toBe('scalar');
    expect(itemText(' a')).toBe('" a"');
    expect(itemText(3)).toBe('3');
  });
});

describe('float32Text', () => {
  it('prints the shortest decimal that is the same float32', () => {
    expect(float32Text(Math.fround(1e-5))).toBe('0.00001');
    expect(float32Text(Math.fround(0.1))).toBe('0.1');
    expect(float32Text(Math.fround(-1234.5678))).toBe('-1234.5677');
    expect(float32Text(10000)).toBe('10000');
    expect(itemText(Math.fround(1e-5), 'f32')).toBe('0.00001');
    expect(itemText(Math.fround(-3.2), 'array<f32>')).toBe('-3.2');
    expect(itemText(Math.fround(1e-5), 'f64')).toBe(String(Math.fround(1e-5)));
  });
});

describe('durationText', () => {
  it('rounds up to seconds, minutes or hours', () => {
    expect(durationText(0)).toBe('0 s');
    expect(durationText(4.2)).toBe('5 s');
    expect(durationText(59.5)).toBe('1 min 0 s');
    expect(durationText(135)).toBe('2 min 15 s');
    expect(durationText(7260)).toBe('2 h 1 min');
    expect(durationText(-3)).toBe('0 s');
  });
});
