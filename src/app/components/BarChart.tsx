// A horizontal bar chart drawn as inline SVG: one labelled bar per row, the
// value written after it. Sized by a viewBox so that it scales with its column.

export interface Bar {
  label: string;
  value: number;
}

const WIDTH = 560;
const LABEL_WIDTH = 110;
const VALUE_WIDTH = 90;
const ROW = 18;
const GAP = 4;

interface BarChartProps {
  title: string;
  bars: Bar[];
  formatValue: (value: number) => string;
  testId?: string;
}

export function BarChart({ title, bars, formatValue, testId }: BarChartProps) {
  const max = Math.max(1, ...bars.map((b) => b.value));
  const trackWidth = WIDTH - LABEL_WIDTH - VALUE_WIDTH;
  const height = bars.length * (ROW + GAP);
  return (
    <figure className="chart" data-testid={testId}>
      <figcaption>{title}</figcaption>
      <svg viewBox={`0 0 ${WIDTH} ${height}`} width="100%" role="img" aria-label={title}>
        {bars.map((bar, i) => {
          const y = i * (ROW + GAP);
          const width = Math.max(bar.value > 0 ? 1 : 0, (bar.value / max) * trackWidth);
          return (
            <g key={bar.label} data-testid="chart-bar">
              <title>{`${bar.label}: ${formatValue(bar.value)}`}</title>
              <text className="chart-label" x={LABEL_WIDTH - 8} y={y + ROW / 2} textAnchor="end" dominantBaseline="central">
                {bar.label}
              </text>
              <rect className="chart-bar" x={LABEL_WIDTH} y={y} width={width} height={ROW} rx={2} />
              <text className="chart-value" x={LABEL_WIDTH + width + 6} y={y + ROW / 2} dominantBaseline="central">
                {formatValue(bar.value)}
              </text>
            </g>
          );
        })}
      </svg>
    </figure>
  );
}
