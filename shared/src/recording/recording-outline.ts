/** Builds a recording's outline (per-minute density, NAT changes, first bad flow) while a player replays it. */
import type { MinuteDensity, RecordingOutline } from '../wire/rest-types.js';
import type { RecordingRecord } from './recording-format.js';
import type { RecordingPlayer } from './recording-player.js';

const MINUTE = 60_000;

/** Feed it every record through {@link feed} (it applies them to the player); read the outline at the end. */
export class OutlineBuilder {
  readonly minutes: MinuteDensity[] = [];
  readonly natChanges: number[] = [];
  firstBad: number | null = null;
  /** The minute in progress. */
  minute: MinuteDensity | undefined;

  constructor(resume?: {
    minutes: MinuteDensity[];
    natChanges: number[];
    firstBad: number | null;
    minute?: MinuteDensity;
  }) {
    if (resume) {
      this.minutes.push(...resume.minutes);
      this.natChanges.push(...resume.natChanges);
      this.firstBad = resume.firstBad;
      this.minute = resume.minute ? { ...resume.minute } : undefined;
    }
  }

  /** Apply one record to the player, counting what the outline needs. */
  feed(player: RecordingPlayer, r: RecordingRecord): void {
    const m = Math.floor(r.t / MINUTE) * MINUTE;
    if (this.minute && m > this.minute.t) this.closeMinute(player);
    this.minute ??= { t: m, bad: 0, newBad: 0, gaps: 0, events: 0 };
    const hashBefore = r.k === 'nat' ? player.core.store.current?.hash : undefined;
    const badBefore = player.core.store.timeline.badCount;
    player.feed(r);
    // Judged at the record's own time: the first bad flow's exact instant (a restore replaces the timeline).
    const timeline = player.core.store.timeline;
    if (this.firstBad === null && timeline.badCount > 0 && (timeline.badCount > badBefore || r.k === 'state'))
      this.firstBad = r.t;
    if (r.k === 'nat' && hashBefore !== undefined && player.core.store.current?.hash !== hashBefore)
      this.natChanges.push(r.t);
    if (r.k === 'gap') this.minute.gaps++;
    else if (r.k === 'line' && r.src === 'events') this.minute.events++;
  }

  /** Close the minute in progress: live bad flows now, and flows that turned bad in it (from the rate timeline). */
  closeMinute(player: RecordingPlayer): void {
    const minute = this.minute;
    if (!minute) return;
    const s = player.core.store.stats();
    minute.bad = s.live - s.bySeverity.ok;
    for (const b of player.core.store.timeline.recent(120)) {
      if (b.t < minute.t || b.t >= minute.t + MINUTE) continue;
      let n = 0;
      for (const v of Object.values(b.bad)) n += v ?? 0;
      minute.newBad += n;
    }
    this.minutes.push(minute);
    this.minute = undefined;
  }

  /** The outline so far (call {@link closeMinute} first at the end). */
  outline(start: number, end: number, records: number, checkpoints: number): RecordingOutline {
    return {
      start,
      end,
      records,
      checkpoints,
      minutes: this.minutes,
      natChanges: this.natChanges,
      firstBad: this.firstBad,
    };
  }
}
