/** The replay scrubber's density strip: bad flows and gaps per minute over the whole recording; click to seek. */
import type { RecordingOutline } from '@ctscope/shared';
import { formatDateTime } from '../domain/format.js';

export interface DensityStripProps {
  outline: RecordingOutline;
  /** Current replay time, marked on the strip. */
  time: number;
  onSeek: (t: number) => void;
}

export function DensityStrip({ outline, time, onSeek }: DensityStripProps) {
  const { start, end, minutes } = outline;
  const span = Math.max(end - start, 1);
  const peak = Math.max(1, ...minutes.map((m) => m.bad));
  const x = (t: number) => ((t - start) / span) * 1000;
  const w = Math.max(1000 / Math.max(1, span / 60_000), 0.5);
  const gaps = minutes.filter((m) => m.gaps > 0).length;
  const badMinutes = minutes.filter((m) => m.bad > 0).length;
  return (
    <button
      type="button"
      className="density-strip"
      aria-label={`Bad flows per minute over the whole recording: ${badMinutes} of ${minutes.length} minutes with bad flows, ${gaps} with gaps. Click to seek.`}
      data-minutes={minutes.length}
      data-bad-minutes={badMinutes}
      onClick={(e) => {
        const r = e.currentTarget.getBoundingClientRect();
        onSeek(start + ((e.clientX - r.left) / Math.max(r.width, 1)) * span);
      }}
    >
      <svg viewBox="0 0 1000 24" preserveAspectRatio="none" aria-hidden="true">
        {minutes.map((m) =>
          m.bad > 0 ? (
            <rect
              key={`b${m.t}`}
              className="density-bad"
              x={x(m.t)}
              y={24 - (20 * m.bad) / peak}
              width={w}
              height={(20 * m.bad) / peak}
            >
              <title>{`${formatDateTime(m.t)}: ${m.bad} bad flows, ${m.newBad} turned bad`}</title>
            </rect>
          ) : null,
        )}
        {minutes.map((m) =>
          m.gaps > 0 ? (
            <rect key={`g${m.t}`} className="density-gap" x={x(m.t)} y={0} width={w} height={3}>
              <title>{`${formatDateTime(m.t)}: ${m.gaps} gap(s) in what was recorded`}</title>
            </rect>
          ) : null,
        )}
        {outline.natChanges.map((t) => (
          <rect key={`n${t}`} className="density-nat" x={x(t)} y={0} width={1.5} height={24}>
            <title>{`${formatDateTime(t)}: NAT rules changed`}</title>
          </rect>
        ))}
        <rect className="density-now" x={x(time)} y={0} width={2} height={24} />
      </svg>
    </button>
  );
}
