/**
 * Events/s stacked by type and bad flows by verdict (recharts), with NAT-change, gap and counter-jump markers,
 * drag-to-zoom, an overview strip with a brush, and the 1m/5m/15m/1h/live presets.
 */
import { BAD_VERDICTS, type RateBucket, type TimelineMarker } from '@ctscope/shared';
import { memo, useMemo, useState } from 'react';
import {
  Area,
  Bar,
  Brush,
  CartesianGrid,
  ComposedChart,
  Legend,
  ReferenceArea,
  ReferenceLine,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';
import type { TimeRange } from '../domain/flow-rows.js';
import { formatClock, formatCount } from '../domain/format.js';
import { groupMarkerRuns, groupMarkersByBin, type MarkerGroup } from '../domain/marker-groups.js';
import { binTimeline, type ChartPoint } from '../domain/timeline-bins.js';
import { PRESETS, type TimeWindow } from '../domain/url-state.js';

/** Theme colours per chart series (CSS variables, so light/dark follow). */
export const SERIES_COLOR: Record<string, string> = {
  NEW: 'var(--c-new)',
  UPDATE: 'var(--c-update)',
  DESTROY: 'var(--c-destroy)',
  'no-dnat': 'var(--c-no-dnat)',
  'stale-endpoint': 'var(--c-stale)',
  'no-endpoints': 'var(--c-noep)',
  unanswered: 'var(--c-unanswered)',
};

/** Glyph per marker kind, drawn on the chart and in the lists. */
export const MARKER_ICON: Record<TimelineMarker['kind'], string> = {
  'nat-change': '⇄',
  gap: '⌀',
  'counter-jump': '▲',
  'auto-remedy': '✂',
};

const MARKER_WORD: Record<TimelineMarker['kind'], string> = {
  'nat-change': 'NAT',
  gap: 'gap',
  'counter-jump': 'counter',
  'auto-remedy': 'auto-remedy',
};

/** Marker lines across the chart at most (wall, page): each needs room for a label such as `⌀×30`. */
const MARKER_SLOTS = { compact: 12, full: 24 } as const;

/** Data, the range to draw, and the window it came from. */
export interface TimelineProps {
  timeline: readonly RateBucket[];
  markers: readonly TimelineMarker[];
  /** The concrete range shown. */
  range: TimeRange;
  window: TimeWindow;
  onWindow: (w: TimeWindow) => void;
  /** Hide the controls and the overview (wall mode). */
  compact?: boolean;
  /** Chart height: pixels, or a CSS length when the container sizes it (wall mode). */
  height?: number | string;
}

/** The timeline panel (compact: the wall variant, no controls); memoised, so give it stable props. */
export const Timeline = memo(function Timeline({
  timeline,
  markers,
  range,
  window,
  onWindow,
  compact = false,
  height = 170,
}: TimelineProps) {
  const points = useMemo(
    () => binTimeline(timeline, range.from, range.to, compact ? 120 : 240),
    [timeline, range.from, range.to, compact],
  );
  const inRange = useMemo(
    () => markers.filter((m) => m.t >= range.from && m.t <= range.to),
    [markers, range.from, range.to],
  );
  // One line per kind per slot of the width (labels need that room): a flood's dozens of gaps a second would
  // otherwise pile up into an unreadable, costly stack.
  const lines = useMemo(() => {
    const slots = compact ? MARKER_SLOTS.compact : MARKER_SLOTS.full;
    return groupMarkersByBin(inRange, Math.max(1000, (range.to - range.from) / slots), 60);
  }, [inRange, range.from, range.to, compact]);
  const [drag, setDrag] = useState<{ a: number; b: number } | undefined>();
  const follow = window.kind === 'follow';

  return (
    <section className={`timeline${compact ? ' timeline-compact' : ''}`} aria-label="Timeline">
      {!compact && (
        <div className="timeline-bar">
          <h2 className="section-title">Timeline</h2>
          <fieldset className="presets">
            <legend className="sr-only">Time window</legend>
            {PRESETS.map((p, i) => (
              <button
                key={p.label}
                type="button"
                className={`chip${follow && window.spanMs === p.spanMs ? ' chip-on' : ''}`}
                aria-pressed={follow && window.spanMs === p.spanMs}
                onClick={() => onWindow({ kind: 'follow', spanMs: p.spanMs })}
                title={`Last ${p.label} (${i + 1})`}
              >
                {p.label}
              </button>
            ))}
            <button
              type="button"
              className={`chip chip-live${follow ? ' chip-on' : ''}`}
              aria-pressed={follow}
              onClick={() =>
                onWindow({
                  kind: 'follow',
                  spanMs: follow ? window.spanMs : Math.max(60_000, window.to - window.from),
                })
              }
              title="Follow the data clock (0)"
            >
              <span aria-hidden="true">{follow ? '● ' : '○ '}</span>live
            </button>
          </fieldset>
          <span className="muted small">
            {formatClock(range.from)} – {formatClock(range.to)}
            {!follow && ' (zoomed: drag on the chart to zoom further, press live to follow again)'}
            {follow && ' · drag across the chart to zoom'}
          </span>
        </div>
      )}
      <div className="chart" style={{ height }}>
        <ResponsiveContainer width="100%" height="100%">
          <ComposedChart
            data={points}
            margin={{ top: 14, right: 8, bottom: 0, left: 0 }}
            onMouseDown={
              compact
                ? undefined
                : (s) =>
                    s?.activeLabel !== undefined &&
                    setDrag({ a: Number(s.activeLabel), b: Number(s.activeLabel) })
            }
            onMouseMove={
              compact
                ? undefined
                : (s) =>
                    drag && s?.activeLabel !== undefined && setDrag({ a: drag.a, b: Number(s.activeLabel) })
            }
            onMouseUp={
              compact
                ? undefined
                : () => {
                    if (drag && Math.abs(drag.b - drag.a) >= 1000) {
                      onWindow({
                        kind: 'fixed',
                        from: Math.min(drag.a, drag.b),
                        to: Math.max(drag.a, drag.b),
                      });
                    }
                    setDrag(undefined);
                  }
            }
          >
            <CartesianGrid stroke="var(--grid)" strokeDasharray="3 3" vertical={false} />
            <XAxis
              dataKey="t"
              type="number"
              scale="time"
              domain={[range.from, range.to]}
              allowDataOverflow
              tickFormatter={formatClock}
              stroke="var(--muted)"
              tick={{ fill: 'var(--muted)', fontSize: compact ? 18 : 11 }}
              minTickGap={40}
            />
            <YAxis
              yAxisId="ev"
              stroke="var(--muted)"
              tick={{ fill: 'var(--muted)', fontSize: compact ? 18 : 11 }}
              tickFormatter={formatCount}
              width={compact ? 56 : 44}
              label={
                compact
                  ? undefined
                  : {
                      value: 'events/s',
                      angle: -90,
                      position: 'insideLeft',
                      fill: 'var(--muted)',
                      fontSize: 11,
                    }
              }
            />
            <YAxis
              yAxisId="bad"
              orientation="right"
              allowDecimals={false}
              stroke="var(--muted)"
              tick={{ fill: 'var(--muted)', fontSize: compact ? 18 : 11 }}
              tickFormatter={formatCount}
              width={compact ? 56 : 44}
              label={
                compact
                  ? undefined
                  : {
                      value: 'bad flows',
                      angle: 90,
                      position: 'insideRight',
                      fill: 'var(--muted)',
                      fontSize: 11,
                    }
              }
            />
            {!compact && (
              <Tooltip
                isAnimationActive={false}
                labelFormatter={(t) => formatClock(Number(t))}
                formatter={(v, name) => [formatCount(Number(v)), String(name)]}
                contentStyle={{
                  background: 'var(--panel)',
                  border: '1px solid var(--border)',
                  color: 'var(--text)',
                }}
              />
            )}
            <Legend
              wrapperStyle={{ fontSize: compact ? 18 : 11 }}
              iconType="square"
              formatter={(value) => <span style={{ color: 'var(--text)' }}>{value}</span>}
            />
            {(['NEW', 'UPDATE', 'DESTROY'] as const).map((k) => (
              <Bar
                key={k}
                yAxisId="ev"
                dataKey={k}
                name={`${k}/s`}
                stackId="ev"
                fill={SERIES_COLOR[k]}
                fillOpacity={0.75}
                isAnimationActive={false}
                maxBarSize={12}
              />
            ))}
            {BAD_VERDICTS.map((v) => (
              <Bar
                key={v}
                yAxisId="bad"
                dataKey={v}
                name={`bad: ${v}`}
                stackId="bad"
                fill={SERIES_COLOR[v]}
                isAnimationActive={false}
                maxBarSize={12}
              />
            ))}
            {lines.map((g) => (
              <ReferenceLine
                key={`${g.t}|${g.kind}`}
                yAxisId="ev"
                x={g.t}
                stroke={
                  g.kind === 'nat-change'
                    ? 'var(--c-nat)'
                    : g.kind === 'gap'
                      ? 'var(--c-gap)'
                      : g.kind === 'auto-remedy'
                        ? 'var(--c-remedy)'
                        : 'var(--c-jump)'
                }
                strokeDasharray={g.kind === 'gap' ? '4 3' : undefined}
                strokeWidth={compact ? 3 : 1.5}
                label={{
                  value: g.count > 1 ? `${MARKER_ICON[g.kind]}×${g.count}` : MARKER_ICON[g.kind],
                  position: 'top',
                  fill: 'var(--text)',
                  fontSize: compact ? 18 : 12,
                }}
              />
            ))}
            {drag && (
              <ReferenceArea yAxisId="ev" x1={drag.a} x2={drag.b} fill="var(--accent)" fillOpacity={0.2} />
            )}
          </ComposedChart>
        </ResponsiveContainer>
      </div>
      {!compact && <Overview timeline={timeline} range={range} onWindow={onWindow} />}
      {!compact && <MarkerList markers={inRange} />}
    </section>
  );
});

/** The whole held timeline in a thin strip, with a brush over the window shown above. */
function Overview({
  timeline,
  range,
  onWindow,
}: {
  timeline: readonly RateBucket[];
  range: TimeRange;
  onWindow: (w: TimeWindow) => void;
}) {
  const first = timeline[0]?.t ?? range.from;
  const last = Math.max(range.to, timeline[timeline.length - 1]?.t ?? range.to);
  const data = useMemo(
    () => binTimeline(timeline, Math.min(first, range.from), last, 200),
    [timeline, first, last, range.from],
  );
  if (data.length < 3) return null;
  const idx = (t: number) =>
    Math.max(
      0,
      Math.min(
        data.length - 1,
        data.findIndex((p) => p.t + binOf(data) > t),
      ),
    );
  const start = idx(range.from);
  const end = Math.max(start + 1, idx(range.to));
  return (
    <div className="overview" title="The whole held timeline: drag the handles to pick a window">
      <ResponsiveContainer width="100%" height={30}>
        <ComposedChart data={data} margin={{ top: 0, right: 52, bottom: 0, left: 44 }}>
          <Area
            dataKey={(p: ChartPoint) => p.NEW + p.UPDATE + p.DESTROY}
            stroke="var(--c-new)"
            fill="var(--c-new)"
            fillOpacity={0.25}
            isAnimationActive={false}
            dot={false}
          />
          <Brush
            dataKey="t"
            height={26}
            startIndex={start}
            endIndex={Math.min(end, data.length - 1)}
            stroke="var(--muted)"
            fill="transparent"
            travellerWidth={8}
            tickFormatter={(t) => formatClock(Number(t))}
            onChange={(r) => {
              const s = data[r.startIndex ?? 0];
              const e = data[r.endIndex ?? data.length - 1];
              if (s && e && (r.startIndex !== start || r.endIndex !== end)) {
                onWindow({ kind: 'fixed', from: s.t, to: e.t + binOf(data) });
              }
            }}
          />
        </ComposedChart>
      </ResponsiveContainer>
    </div>
  );
}

function binOf(data: ChartPoint[]): number {
  return data.length > 1 ? data[1]!.t - data[0]!.t : 1000;
}

function MarkerList({ markers }: { markers: readonly TimelineMarker[] }) {
  const groups = useMemo(() => groupMarkerRuns(markers).reverse().slice(0, 30), [markers]);
  if (groups.length === 0)
    return <p className="marker-empty muted small">No NAT changes, gaps or counter jumps in this window.</p>;
  return (
    <ul className="markers" aria-label="Timeline markers in this window, newest first">
      {groups.map((g) => (
        <li key={`${g.t}|${g.kind}|${g.text}`} className={`marker marker-${g.kind}`}>
          <time className="mono">{formatClock(g.t)}</time>
          <span className="marker-kind">
            <span aria-hidden="true">{MARKER_ICON[g.kind]} </span>
            {MARKER_WORD[g.kind]}
          </span>
          <span className="marker-text">
            {g.text}
            {g.count > 1 && <MarkerRunCount group={g} />}
          </span>
        </li>
      ))}
    </ul>
  );
}

/** "×12 until 10:04:59" after a folded run. */
export function MarkerRunCount({ group }: { group: MarkerGroup }) {
  return (
    <span className="marker-count muted">
      {' '}
      ×{group.count}
      {group.last !== group.t && ` until ${formatClock(group.last)}`}
    </span>
  );
}
