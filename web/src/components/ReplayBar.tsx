/** Replay transport: play/pause, step, speed and a scrubber; the same bar for server replay and in-browser replay. */

import type { RecordingOutline, ReplayClockState } from '@ctscope/shared';
import { formatClock, formatDateTime, formatDuration } from '../domain/format.js';
import type { ReplayControls } from '../transport/replay-controls.js';
import { DensityStrip } from './DensityStrip.js';

const SPEEDS = [0.5, 1, 2, 5, 10, 25, 50, 100];

/** Clock state and controls of the replay in force. */
export interface ReplayBarProps {
  clock?: ReplayClockState;
  controls?: ReplayControls;
  /** `replay` when the server replays, `local` when this browser does. */
  mode: 'replay' | 'local';
  recordingName?: string;
  /** The whole recording's outline (from its index): the density strip and the jumps. */
  outline?: RecordingOutline;
  onSeek: (t: number) => void;
  onBackToLive?: () => void;
}

/** The replay transport bar. */
export function ReplayBar({
  clock,
  controls,
  mode,
  recordingName,
  outline,
  onSeek,
  onBackToLive,
}: ReplayBarProps) {
  if (!clock || !controls) {
    return (
      <section className="replay-bar" aria-label="Replay">
        <span className="muted">Loading the replay clock…</span>
      </section>
    );
  }
  const seek = (t: number) => {
    const c = Math.min(clock.end, Math.max(clock.start, t));
    controls.seek(c);
    onSeek(c);
  };
  // A NAT change counts as "next" once it is more than half a second ahead (the clock rounds to 100 ms).
  const nextNat = outline?.natChanges.find((t) => t > clock.time + 500);
  const firstBad = outline?.firstBad ?? null;
  return (
    <section className="replay-bar" aria-label="Replay">
      <span className="replay-label">
        <span aria-hidden="true">⏏ </span>
        {mode === 'local'
          ? `Replaying in this browser${recordingName ? `: ${recordingName}` : ''}`
          : 'Server replay'}
      </span>
      <fieldset className="replay-buttons">
        <legend className="sr-only">Transport</legend>
        <button
          type="button"
          className="btn"
          onClick={() => seek(clock.start)}
          aria-label="Jump to the start (Home)"
        >
          |◀
        </button>
        <button
          type="button"
          className="btn"
          onClick={() => seek(clock.time - 10_000)}
          aria-label="Back 10 seconds (←)"
        >
          −10s
        </button>
        <button
          type="button"
          className="btn btn-primary"
          onClick={() => (clock.playing ? controls.pause() : controls.play())}
          aria-label={clock.playing ? 'Pause (space)' : 'Play (space)'}
          data-playing={clock.playing}
        >
          {clock.playing ? '❚❚ Pause' : '▶ Play'}
        </button>
        <button
          type="button"
          className="btn"
          onClick={() => seek(clock.time + 10_000)}
          aria-label="Forward 10 seconds (→)"
        >
          +10s
        </button>
        <button
          type="button"
          className="btn"
          onClick={() => seek(clock.end)}
          aria-label="Jump to the end (End)"
        >
          ▶|
        </button>
      </fieldset>
      <label className="field">
        <span>Speed</span>
        <select value={clock.speed} onChange={(e) => controls.setSpeed(Number(e.target.value))}>
          {SPEEDS.includes(clock.speed) ? null : <option value={clock.speed}>{clock.speed}×</option>}
          {SPEEDS.map((s) => (
            <option key={s} value={s}>
              {s}×
            </option>
          ))}
        </select>
      </label>
      <input
        className="scrubber"
        type="range"
        min={clock.start}
        max={Math.max(clock.end, clock.start + 1)}
        step={100}
        value={clock.time}
        onChange={(e) => seek(Number(e.target.value))}
        aria-label="Replay position"
        aria-valuetext={formatDateTime(clock.time)}
        data-replay-time={Math.round(clock.time)}
      />
      <span className="mono replay-time" title={formatDateTime(clock.time)}>
        {formatClock(clock.time)} <span className="muted">/ {formatDuration(clock.end - clock.start)}</span>
      </span>
      {outline && (
        <fieldset className="replay-buttons">
          <legend className="sr-only">Jumps</legend>
          <button
            type="button"
            className="btn"
            disabled={firstBad === null}
            onClick={() => firstBad !== null && seek(firstBad)}
            title={firstBad !== null ? formatDateTime(firstBad) : 'No flow went bad in this recording'}
          >
            First bad flow
          </button>
          <button
            type="button"
            className="btn"
            disabled={nextNat === undefined}
            onClick={() => nextNat !== undefined && seek(nextNat)}
            title={nextNat !== undefined ? formatDateTime(nextNat) : 'No NAT change after this point'}
          >
            Next NAT change
          </button>
        </fieldset>
      )}
      {outline && <DensityStrip outline={outline} time={clock.time} onSeek={seek} />}
      {onBackToLive && (
        <button type="button" className="btn" onClick={onBackToLive}>
          Back to the server
        </button>
      )}
    </section>
  );
}
