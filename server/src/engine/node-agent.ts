/** The live engine: supervised node sources → engine core, recorder and delete, for `ctscope serve`. */
import type {
  AutoRemedyMode,
  FlowReport,
  ListedReading,
  NatSnapshot,
  RecordingRecord,
} from '@ctscope/shared';
import { dumpStart, EngineCore, quietRuns, remedyArgs } from '@ctscope/shared';
import {
  autoRemedySettleMs,
  CTSCOPE_VERSION,
  DUMP_QUEUE_ROOM_BYTES,
  RECORDING_SEGMENT_BYTES,
  type ServeConfig,
} from '../config.js';
import { type AuditLog, autoRemedyAuditEntry } from '../http/audit-log.js';
import { NodeCommandError, runNodeCommand } from '../node/node-command.js';
import { type Recorder, RecorderThread } from '../recording/recorder-thread.js';
import { AutoRemedy } from '../remedy/auto-remedy.js';
import { recheckEntry } from '../remedy/recheck-entry.js';
import { DumpScheduler } from '../sources/conntrack-dump-source.js';
import {
  type ConntrackEventsSource,
  createConntrackEventsSource,
} from '../sources/conntrack-events-source.js';
import { createCountersPoller } from '../sources/counters-poller.js';
import { canUseFifo } from '../sources/listener-priority.js';
import { createNatPoller, type NatPoller } from '../sources/nat-poller.js';
import type { NodeCounters, SourceSink } from '../sources/source-types.js';
import type { Supervisor } from '../sources/supervisor.js';
import { createSuspectPoller } from '../sources/suspect-poller.js';
import type { DeleteResult, Engine, EngineBatch } from './engine.js';
import { PerFlowLock } from './per-flow-lock.js';

/** Live node agent. `start()` launches the sources; `stop()` ends them and closes the recording. */
export class NodeAgent implements Engine {
  readonly mode = 'live' as const;
  readonly node: { name: string; netns?: string };
  readonly core: EngineCore;
  readonly allowDelete: boolean;
  readonly intervals: Engine['intervals'];
  private readonly supervisors: Supervisor[] = [];
  private readonly dump: DumpScheduler;
  private readonly nat: NatPoller;
  private readonly events: ConntrackEventsSource;
  readonly recorder: Recorder | undefined;
  private checkpointTimer: NodeJS.Timeout | undefined;
  readonly autoRemedy: AutoRemedyMode;
  readonly deleteLock = new PerFlowLock();
  private readonly remedy: AutoRemedy | undefined;
  private remedyTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly config: ServeConfig,
    private readonly now: () => number = Date.now,
    audit?: AuditLog,
  ) {
    this.node = { name: config.nodeName, netns: config.netns };
    this.allowDelete = config.allowDelete;
    this.intervals = {
      suspectPollMs: config.suspectPollMs,
      natPollMs: config.natPollMs,
      countersPollMs: config.countersPollMs,
    };
    this.core = new EngineCore({ maxFlows: config.maxFlows, unansweredAfterMs: config.unansweredAfterMs });
    this.recorder = config.record
      ? new RecorderThread({
          dir: config.dataDir,
          node: config.nodeName,
          netns: config.netns,
          writer: CTSCOPE_VERSION,
          maxAgeMs: config.retentionHours * 3_600_000,
          maxBytes: config.retentionBytes,
          gzip: config.recordGzip,
          segmentBytes: RECORDING_SEGMENT_BYTES[config.recordGzip ? 'gzip' : 'plain'],
          onFailure: (message) =>
            this.core.addGap('recording-paused', `recording stopped: ${message}`, this.now()),
        })
      : undefined;
    const sink = this.recordingSink();
    const nodeOpts = { netns: config.netns };
    this.dump = new DumpScheduler({
      sink,
      node: nodeOpts,
      fullIntervalMs: config.fullResyncMs,
      spoolDir: config.dataDir,
      now,
    });
    this.core.onLoss = (at) => this.dump.requestResync('event loss', at);
    this.nat = createNatPoller({
      sink,
      node: nodeOpts,
      mode: config.natSource,
      intervalMs: config.natPollMs,
      now,
    });
    this.events = createConntrackEventsSource({ sink, node: nodeOpts, bufferBytes: config.bufferBytes, now });
    this.supervisors.push(
      this.events,
      this.dump.supervisor,
      createSuspectPoller({
        sink,
        node: nodeOpts,
        intervalMs: () => config.suspectPollMs,
        suspects: () => this.core.store.suspects(),
        fullDumpCovers: () => this.dump.covering(config.suspectPollMs),
        lastFullDumpAt: () => this.dump.lastCompletedAt(),
        now,
      }),
      this.nat,
      createCountersPoller({ sink, node: nodeOpts, intervalMs: config.countersPollMs, now }),
    );
    this.autoRemedy = config.autoRemedy.mode;
    this.remedy =
      config.autoRemedy.mode === 'off'
        ? undefined
        : new AutoRemedy({
            core: this.core,
            config: config.autoRemedy,
            settleMs: autoRemedySettleMs(config),
            now,
            recheck: (flow) => recheckEntry(flow.record, nodeOpts),
            // Through the DELETE route's per-flow lock: never two deletes of one tuple at once, and an entry a
            // request deleted meanwhile is not deleted again (its tuple may belong to a new entry by now).
            deleteFlow: (report) =>
              this.deleteLock.run(report.id, async () => {
                const found = this.core.store.get(report.id);
                if (!found || found.flow.destroyedAt !== undefined)
                  return { ok: false, command: [], message: 'already gone (deleted meanwhile)' };
                return this.deleteFlow(found.report);
              }),
            audit: async (a) => {
              const err = await audit?.write(autoRemedyAuditEntry(a));
              if (err) process.stderr.write(`ctscope: audit log write failed: ${err.message}\n`);
            },
            record: (a) => this.recorder?.append({ k: 'remedy', t: a.t, action: a }),
            natRunning: () => this.core.sources().find((s) => s.name === 'nat')?.state === 'running',
          });
  }

  /** Every input goes to the engine and, when recording, to disk. The tail calls onEventLine: keep it cheap. */
  private recordingSink(): SourceSink {
    const core = this.core;
    const rec = (r: RecordingRecord) => this.recorder?.append(r);
    return {
      onEventLine: (line, at) => {
        core.onEventLine(line, at);
        rec({ k: 'line', t: at, src: 'events', line });
      },
      // The same records as line by line (the engine records nothing meanwhile), serialised on the recorder's thread.
      onEventLines: (lines, at) => {
        for (let i = 0; i < lines.length; i++) core.onEventLine(lines[i]!, at);
        this.recorder?.appendLines(at, 'events', lines);
      },
      onEventLoss: (reason, detail, at) => {
        core.onEventLoss(reason, detail, at);
        rec({ k: 'gap', t: at, reason, detail });
      },
      // Polls and other whole runs: the same as one chunk.
      onDump: (scope, lines, at, startedAt) => {
        const from = dumpStart(scope, at, startedAt);
        void this.dumpLines(scope, lines, at, from);
        this.dumpEnd(scope, at, from);
      },
      onDumpLines: (scope, lines, at, startedAt) => this.dumpLines(scope, lines, at, startedAt),
      onDumpEnd: (scope, at, startedAt) => this.dumpEnd(scope, at, startedAt),
      onNat: (snapshot: NatSnapshot, at) => {
        const fresh = core.onNat(snapshot, at);
        if (fresh) rec({ k: 'nat', t: at, snapshot: fresh });
      },
      onCounters: (c: NodeCounters) => {
        core.onCounters(c);
        rec({ k: 'counters', t: c.at, count: c.count, max: c.max, stats: c.stats });
      },
      onSourceState: (s) => core.onSourceState(s),
    };
  }

  /**
   * Dump lines (a chunk of a full dump read back, or a whole poll): applied, then recorded as applied, with other
   * inputs in between as a replay will see them. Quiet lines are recorded as `listed` readings, the others raw.
   * The returned promise paces a chunked dump by the recorder, so its lines never pile up in the queue.
   */
  private dumpLines(
    scope: 'full' | 'poll',
    lines: readonly string[],
    at: number,
    startedAt: number,
  ): Promise<void> | undefined {
    const recorder = this.recorder;
    const readings: Array<ListedReading | undefined> | undefined = recorder
      ? new Array(lines.length)
      : undefined;
    this.core.onDumpLines(scope, lines, at, startedAt, readings);
    if (!recorder || !readings) return undefined;
    // A new run (one killed as stale has no `end`: the replay drops it at the next `begin`, as live did).
    recorder.dumpBegin(scope, startedAt);
    const src = scope === 'full' ? 'dump' : 'poll';
    for (const run of quietRuns(lines, readings)) {
      if ('listed' in run) recorder.append({ k: 'listed', t: at, src, flows: run.listed });
      else recorder.appendLines(at, src, run.lines);
    }
    return recorder.roomFor(DUMP_QUEUE_ROOM_BYTES);
  }

  private dumpEnd(scope: 'full' | 'poll', at: number, startedAt: number): void {
    this.core.onDumpEnd(scope, at, startedAt);
    const recorder = this.recorder;
    if (!recorder) return;
    recorder.dumpEnd(scope, at, startedAt);
  }

  async start(): Promise<void> {
    // Probe SCHED_FIFO while the recorder opens, so the event tail starts without waiting for it.
    void canUseFifo();
    const at = this.now();
    if (this.recorder) {
      try {
        await this.recorder.open();
      } catch (err) {
        this.core.addGap('recording-paused', `recording unavailable: ${(err as Error).message}`, at);
      }
    }
    this.core.addGap('server-start', 'ctscope started', at);
    for (const s of this.supervisors) s.start();
    this.checkpointTimer = setInterval(() => this.checkpoint(), 60_000);
    this.checkpointTimer.unref();
    if (this.remedy) {
      const remedy = this.remedy;
      this.remedyTimer = setInterval(() => {
        remedy.tick().catch((err: Error) => process.stderr.write(`ctscope: auto-remedy: ${err.message}\n`));
      }, this.config.autoRemedy.tickMs);
      this.remedyTimer.unref();
    }
  }

  /** Periodic checkpoint of the live table; skipped for huge tables, where full dumps serve instead. */
  private checkpoint(): void {
    if (!this.recorder || this.core.store.stats().live > 20_000) return;
    this.recorder.append({ k: 'checkpoint', t: this.now(), flows: this.core.store.liveRecords() });
  }

  async stop(): Promise<void> {
    if (this.checkpointTimer) clearInterval(this.checkpointTimer);
    if (this.remedyTimer) clearInterval(this.remedyTimer);
    await Promise.all(this.supervisors.map((s) => s.stop()));
    await this.recorder?.close();
  }

  sources() {
    return this.core.sources();
  }
  flush(maxUpserts?: number): EngineBatch {
    return this.core.flush(this.now(), maxUpserts);
  }

  async deleteFlow(report: FlowReport): Promise<DeleteResult> {
    const found = this.core.store.get(report.id);
    const args = remedyArgs(found ? found.flow.record : { proto: report.orig.proto, orig: report.orig });
    const command = ['conntrack', ...args];
    try {
      const r = await runNodeCommand('conntrack', args, { netns: this.config.netns, timeoutMs: 10_000 });
      this.core.markDeleted(report.id, this.now());
      this.recorder?.append({ k: 'deleted', t: this.now(), id: report.id, argv: command });
      this.dump.requestResync('entry deleted');
      return { ok: true, command, message: (r.stderr || r.stdout).trim() || 'deleted' };
    } catch (err) {
      const message = err instanceof NodeCommandError ? err.message : String(err);
      return { ok: false, command, message };
    }
  }

  extraStats(): Record<string, unknown> {
    return {
      listener: this.events.priority() ?? null,
      eventBacklog: this.events.backlog(),
      natMode: this.nat.mode() ?? null,
      dump: this.dump.stats(),
      recording: this.recorder?.state() ?? null,
      autoRemedy: this.remedy?.status() ?? { mode: 'off' },
    };
  }
}
