import { describe, expect, it } from 'vitest';
import { visibleRange } from './VirtualRows';

describe('visibleRange', () => {
  it('covers the viewport plus the overscan, clamped to the list', () => {
    expect(visibleRange(0, 280, 28, 10_000, 8)).toEqual({ start: 0, end: 18 });
    expect(visibleRange(2800, 280, 28, 10_000, 8)).toEqual({ start: 92, end: 118 });
    expect(visibleRange(279_720, 280, 28, 10_000, 8)).toEqual({ start: 9982, end: 10_000 });
  });

  it('renders a partly visible row at either edge', () => {
    expect(visibleRange(14, 28, 28, 100, 0)).toEqual({ start: 0, end: 2 });
  });

  it('renders nothing for an empty list or before the viewport is measured', () => {
    expect(visibleRange(0, 280, 28, 0)).toEqual({ start: 0, end: 0 });
    expect(visibleRange(0, 0, 28, 100, 0)).toEqual({ start: 0, end: 0 });
  });
});
