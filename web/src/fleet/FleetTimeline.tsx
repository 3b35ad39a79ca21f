/** Cluster timeline (recharts): bad flows per node over the last minutes, the worst nodes drawn in warm colours. */
import type { FleetSnapshot } from '@ctscope/shared';
import { useMemo } from 'react';
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { formatClock } from '../domain/format.js';
import { timelineRows } from './fleet-view.js';

const PALETTE = [
  '#ff6b6b',
  '#ff9f43',
  '#f2c14e',
  '#58a6ff',
  '#b392f0',
  '#4ac26b',
  '#d2a8ff',
  '#8b949e',
  '#6e7781',
];

export function FleetTimeline({
  snapshot,
  height,
}: {
  snapshot: Pick<FleetSnapshot, 'nodes' | 'timeline'>;
  height: number;
}) {
  const { series, rows } = useMemo(() => timelineRows(snapshot), [snapshot]);
  return (
    <section className="fleet-timeline" aria-label="bad flows per node" data-points={rows.length}>
      <h2 className="fleet-section-title">Bad flows per node</h2>
      <ResponsiveContainer width="100%" height={height}>
        <LineChart data={rows} margin={{ top: 8, right: 16, bottom: 0, left: 0 }}>
          <CartesianGrid stroke="var(--grid)" vertical={false} />
          <XAxis
            dataKey="t"
            type="number"
            scale="time"
            domain={['dataMin', 'dataMax']}
            tickFormatter={(t: number) => formatClock(t)}
            stroke="var(--muted)"
          />
          <YAxis allowDecimals={false} stroke="var(--muted)" width={40} />
          <Tooltip labelFormatter={(t) => formatClock(Number(t))} />
          <Legend />
          {series.map((s, i) => (
            <Line
              key={s}
              dataKey={s}
              name={s}
              type="stepAfter"
              dot={false}
              strokeWidth={i === 0 ? 3 : 2}
              stroke={PALETTE[i % PALETTE.length]}
              isAnimationActive={false}
              connectNulls={false}
            />
          ))}
        </LineChart>
      </ResponsiveContainer>
    </section>
  );
}
