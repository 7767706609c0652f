// A windowed list: rows have one fixed height, and only the rows inside the
// scrolled viewport (plus a few on each side) are in the DOM, so a table of
// 10,000+ tensors scrolls as smoothly as one of 50.

import { useLayoutEffect, useRef, useState, type ReactNode } from 'react';

/** Rows rendered beyond each edge of the viewport, so fast scrolling does not flash blank rows. */
const OVERSCAN = 8;

/** The half-open range [start, end) of rows to render. */
export function visibleRange(scrollTop: number, viewportHeight: number, rowHeight: number, count: number, overscan = OVERSCAN): { start: number; end: number } {
  const first = Math.floor(scrollTop / rowHeight);
  const last = Math.ceil((scrollTop + viewportHeight) / rowHeight);
  return { start: Math.max(0, first - overscan), end: Math.min(count, last + overscan) };
}

interface VirtualRowsProps<T> {
  items: T[];
  rowHeight: number;
  renderRow: (item: T, index: number) => ReactNode;
  testId?: string;
}

export function VirtualRows<T>({ items, rowHeight, renderRow, testId }: VirtualRowsProps<T>) {
  const viewport = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(0);

  useLayoutEffect(() => {
    const element = viewport.current;
    if (!element) return;
    setHeight(element.clientHeight);
    const observer = new ResizeObserver(() => setHeight(element.clientHeight));
    observer.observe(element);
    return () => observer.disconnect();
  }, []);

  // A shorter list (after filtering) may leave the old scroll position past its end.
  const maxScroll = Math.max(0, items.length * rowHeight - height);
  const top = Math.min(scrollTop, maxScroll);
  const { start, end } = visibleRange(top, height, rowHeight, items.length);
  const rows: ReactNode[] = [];
  for (let i = start; i < end; i++) rows.push(renderRow(items[i]!, i));

  return (
    <div ref={viewport} className="virtual-rows" role="rowgroup" data-testid={testId} onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)}>
      <div className="virtual-rows-track" style={{ height: items.length * rowHeight }}>
        <div className="virtual-rows-window" style={{ transform: `translateY(${start * rowHeight}px)` }}>
          {rows}
        </div>
      </div>
    </div>
  );
}
