/** Test support for the source tests: the fake `conntrack` on PATH, a per-test state dir, and a recording sink. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SourceState } from '@ctscope/shared';
import type { SourceSink } from '../../src/sources/source-types.js';

export const FAKE_BIN = join(import.meta.dirname, '..', 'fake-bin');

/** Everything a sink was told, in order. */
export interface SinkRecord {
  lines: string[];
  ats: number[];
  losses: Array<{ reason: string; detail: string; linesSoFar: number }>;
  dumps: Array<{ scope: string; lines: string[]; at: number; startedAt?: number }>;
  states: SourceState[];
}

/** A sink that records every call; `onDump` runs after a dump is recorded. */
export function recordingSink(onDump?: (lines: string[]) => void): { rec: SinkRecord; sink: SourceSink } {
  const rec: SinkRecord = { lines: [], ats: [], losses: [], dumps: [], states: [] };
  const sink: SourceSink = {
    onEventLine: (line, at) => {
      rec.lines.push(line);
      rec.ats.push(at);
    },
    onEventLoss: (reason, detail) => rec.losses.push({ reason, detail, linesSoFar: rec.lines.length }),
    onDump: (scope, lines, at, startedAt) => {
      rec.dumps.push({ scope, lines, at, startedAt });
      onDump?.(lines);
    },
    onNat: () => {},
    onCounters: () => {},
    onSourceState: (s) => rec.states.push(s),
  };
  return { rec, sink };
}

/** Puts the fake tools first on PATH with a fresh FAKE_CT_STATE_DIR; `restore()` puts the environment back. */
export function fakeConntrackEnv(prefix: string): {
  stateDir: string;
  saved: NodeJS.ProcessEnv;
  restore: () => void;
  calls: () => string[];
} {
  const saved = { ...process.env };
  const stateDir = mkdtempSync(join(tmpdir(), prefix));
  process.env.PATH = `${FAKE_BIN}:${saved.PATH}`;
  process.env.FAKE_CT_STATE_DIR = stateDir;
  return {
    stateDir,
    saved,
    restore: () => {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      for (const [k, v] of Object.entries(saved)) if (v !== undefined) process.env[k] = v;
      rmSync(stateDir, { recursive: true, force: true });
    },
    /** Every argv the fake tools were run with, one string per call. */
    calls: () => {
      try {
        return readFileSync(join(stateDir, 'calls.log'), 'utf8').split('\n').filter(Boolean);
      } catch {
        return [];
      }
    },
  };
}
