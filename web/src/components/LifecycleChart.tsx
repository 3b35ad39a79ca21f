/** Mini timeline of one flow: its timeout readings as a line, lifecycle events as ticks, resets circled. */
import { formatClock } from '../domain/format.js';
import type { LifecycleLine } from '../domain/lifecycle.js';

const W = 560;
const H = 120;
const PAD = { l: 34, r: 10, t: 12, b: 24 };

const EVENT_MARK: Record<string, string> = { NEW: 'N', UPDATE: 'U', DESTROY: 'D', LIST: '·' };

/** SVG mini timeline for the flow detail. */
export function LifecycleChart({ lines, now }: { lines: readonly LifecycleLine[]; now: number }) {
  if (lines.length === 0) return null;
  const t0 = lines[0]!.at;
  const t1 = Math.max(now, lines[lines.length - 1]!.at, t0 + 1000);
  const maxTimeout = Math.max(30, ...lines.map((l) => l.timeout ?? 0));
  const x = (t: number) => PAD.l + ((t - t0) / (t1 - t0)) * (W - PAD.l - PAD.r);
  const y = (s: number) => PAD.t + (1 - s / maxTimeout) * (H - PAD.t - PAD.b);
  const readings = lines.filter((l) => l.timeout !== undefined && l.event !== 'DESTROY');
  // Between readings the timeout counts down by one per second: draw that sawtooth, not a straight line.
  let path = '';
  readings.forEach((l, i) => {
    path += `${i === 0 ? 'M' : 'L'}${x(l.at).toFixed(1)},${y(l.timeout!).toFixed(1)}`;
    const next = readings[i + 1];
    const until = next ? next.at : t1;
    const decayed = Math.max(0, l.timeout! - (until - l.at) / 1000);
    path += `L${x(until).toFixed(1)},${y(decayed).toFixed(1)}`;
  });
  const resets = lines.filter((l) => l.reset).length;
  return (
    <svg
      className="lifecycle-chart"
      viewBox={`0 0 ${W} ${H}`}
      role="img"
      aria-label={`Timeout over time: ${readings.length} readings, ${resets} reset${resets === 1 ? '' : 's'}`}
    >
      <line x1={PAD.l} x2={W - PAD.r} y1={y(0)} y2={y(0)} className="axis" />
      <line x1={PAD.l} x2={PAD.l} y1={PAD.t} y2={y(0)} className="axis" />
      <text x={PAD.l - 4} y={y(maxTimeout) + 4} className="tick" textAnchor="end">
        {maxTimeout}s
      </text>
      <text x={PAD.l - 4} y={y(0)} className="tick" textAnchor="end">
        0
      </text>
      <text x={PAD.l} y={H - 6} className="tick">
        {formatClock(t0)}
      </text>
      <text x={W - PAD.r} y={H - 6} className="tick" textAnchor="end">
        {formatClock(t1)}
      </text>
      <path d={path} className="timeout-line" />
      {lines.map((l) => (
        <g key={`${l.at}|${l.event}|${l.timeout}`}>
          {l.event !== 'LIST' && (
            <>
              <line x1={x(l.at)} x2={x(l.at)} y1={PAD.t} y2={y(0)} className={`ev-line ev-${l.event}`} />
              <text x={x(l.at) + 3} y={PAD.t + 8} className={`ev-label ev-${l.event}`}>
                {EVENT_MARK[l.event]}
              </text>
            </>
          )}
          {l.timeout !== undefined && l.event !== 'DESTROY' && (
            <circle
              cx={x(l.at)}
              cy={y(l.timeout)}
              r={l.reset ? 5 : 2.5}
              className={l.reset ? 'reset-dot' : 'reading-dot'}
            >
              <title>
                {formatClock(l.at)} {l.event} timeout {l.timeout}s
                {l.reset ? ` — reset (would be ${l.reset.expected}s)` : ''}
              </title>
            </circle>
          )}
        </g>
      ))}
    </svg>
  );
}
