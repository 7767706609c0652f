// The value histogram of a tensor as inline SVG, with a linear or logarithmic
// count axis (heavy-tailed weights put almost everything in a few bins).

import { useState } from 'react';
import { statValue } from '../format';

// viewBox units; the panel is about this wide, so 11px text stays about 11px on screen.
const WIDTH = 320;
const HEIGHT = 120;
const AXIS = 16;

interface HistogramProps {
  min: number;
  max: number;
  bins: number[];
}

export function Histogram({ min, max, bins }: HistogramProps) {
  const [logScale, setLogScale] = useState(false);
  const scale = (count: number) => (logScale ? Math.log10(1 + count) : count);
  const top = Math.max(1e-9, ...bins.map(scale));
  const plotHeight = HEIGHT - AXIS;
  const barWidth = WIDTH / Math.max(1, bins.length);
  const zeroX = min < 0 && max > 0 ? ((0 - min) / (max - min)) * WIDTH : null;
  return (
    <figure className="histogram" data-testid="histogram">
      <figcaption>
        Value histogram ({bins.length} bins)
        <label className="histogram-scale">
          <input type="checkbox" checked={logScale} onChange={(e) => setLogScale(e.target.checked)} data-testid="histogram-log" /> log count
        </label>
      </figcaption>
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} width="100%" role="img" aria-label={`Histogram of values from ${statValue(min)} to ${statValue(max)}`}>
        {bins.map((count, i) => {
          const h = (scale(count) / top) * plotHeight;
          const from = min + ((max - min) * i) / bins.length;
          const to = min + ((max - min) * (i + 1)) / bins.length;
          return (
            <rect key={i} className="histogram-bar" x={i * barWidth} y={plotHeight - h} width={Math.max(0.5, barWidth - 0.5)} height={h}>
              <title>{`[${statValue(from)}, ${statValue(to)}): ${count}`}</title>
            </rect>
          );
        })}
        {zeroX !== null && <line className="histogram-zero" x1={zeroX} x2={zeroX} y1={0} y2={plotHeight} />}
        <line className="histogram-axis" x1={0} x2={WIDTH} y1={plotHeight} y2={plotHeight} />
        <text className="histogram-tick" x={0} y={HEIGHT - 4}>{statValue(min)}</text>
        <text className="histogram-tick" x={WIDTH} y={HEIGHT - 4} textAnchor="end">{statValue(max)}</text>
      </svg>
    </figure>
  );
}
