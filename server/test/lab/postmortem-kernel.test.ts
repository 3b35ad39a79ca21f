import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BadDuringAnswer, LifecycleAnswer } from '@ctscope/shared';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { readState } from '../../src/lab/lab-state.js';
import {
  apiFlows,
  CLI,
  labCli,
  liveFlowOf,
  startLab,
  stopLab,
  uniqueLabName,
  waitFor,
} from './lab-harness.js';

const SUSPECT_POLL_MS = 1000;

interface RestartJson {
  rulesRemovedAt: number;
  rulesRestoredAt: number;
  vip: string;
}

/**
 * How far the recorded first-bad time may be from the live engine's: none. Both are the store's `badSince`, the
 * time of the input that showed the flow bad, judged by the same code from the same inputs (the recording holds
 * what the live engine was fed, at the same times); neither depends on when a flush or a reader looked.
 */
const FIRST_BAD_TOLERANCE_MS = 0;

describe('post-mortem of a recorded lab incident (real kernel)', () => {
  it('analyze --recording finds the broken flow, first bad at the time the live engine stamped', async () => {
    const lab = await startLab({
      name: uniqueLabName(),
      suspectPollMs: SUSPECT_POLL_MS,
    });
    const copy = await mkdtemp(join(tmpdir(), 'pmx-kernel-rec-'));
    try {
      const r = await labCli<RestartJson>(lab.name, lab.stateRoot, ['restart', '--gap', '3']);
      const dns = lab.services.find((s) => s.vip === r.vip)!;
      const fixed = lab.clients.filter(
        // the dual-stack lab has an IPv6 monitor of the same service too: only the clients of this VIP's family
        (c) =>
          c.mode === 'fixed' &&
          c.sport !== null &&
          c.service === dns.key &&
          (c.family ?? 4) === (r.vip.includes(':') ? 6 : 4),
      );
      expect(fixed.length).toBeGreaterThan(0);
      // What the live agent showed: since when it says each fixed-port client's flow is bad (its own stamp), and
      // when this test's polling first saw it bad (later, by however long a loaded machine took to answer).
      const liveBadSince = new Map<string, number>();
      const seenBadAt = new Map<string, number>();
      await waitFor(
        'live no-dnat kept alive for every fixed-port client',
        async () => {
          const flows = await apiFlows(lab);
          for (const c of fixed) {
            const f = liveFlowOf(flows, c, r.vip);
            if (f && f.severity === 'critical' && !seenBadAt.has(c.key)) {
              seenBadAt.set(c.key, Date.now());
              expect(f.badSince, `${c.key}: live badSince`).toBeDefined();
              liveBadSince.set(c.key, f.badSince!);
            }
          }
          // Critical and kept alive (an ok entry a fixed-port client keeps alive is not the incident).
          return fixed.every((c) => {
            const f = liveFlowOf(flows, c, r.vip);
            return f?.keptAlive && f.severity === 'critical';
          })
            ? true
            : undefined;
        },
        20_000,
        100,
      );
      // Let the recorder flush, then read a copy of the recording (serve keeps writing its own).
      await new Promise((res) => setTimeout(res, 1500));
      const state = (await readState(lab.stateRoot, lab.name))!;
      await cp(state.serve!.dataDir, copy, { recursive: true });
      const a = await execa(
        process.execPath,
        [
          CLI,
          'analyze',
          '--recording',
          copy,
          '--from',
          String(r.rulesRemovedAt - 5000),
          '--to',
          String(Date.now()),
          '--json',
        ],
        { reject: false },
      );
      expect(a.exitCode, String(a.stderr)).toBe(1);
      const answer = JSON.parse(String(a.stdout)) as BadDuringAnswer;
      for (const c of fixed) {
        const i = answer.flows.find(
          (x) => x.flow.orig.src === c.src && x.flow.orig.sport === c.sport && x.flow.orig.dst === r.vip,
        );
        expect(i, `${c.key} in the window's bad flows`).toBeDefined();
        expect(i!.flow).toMatchObject({ verdict: 'no-dnat', severity: 'critical', keptAlive: true });
        expect(i!.until).toBeNull();
        // Born in the gap: bad from its NEW when the NAT poll had not seen the rules go yet, else once they were
        // back; never before they were removed. Its first bad moment in the window is at or before the start of
        // the bad stretch it is still in, which the recording dates exactly as the live engine did.
        expect(i!.since).toBeGreaterThanOrEqual(r.rulesRemovedAt);
        expect(i!.since).toBeLessThanOrEqual(i!.flow.badSince!);
        expect(Math.abs(i!.flow.badSince! - liveBadSince.get(c.key)!)).toBeLessThanOrEqual(
          FIRST_BAD_TOLERANCE_MS,
        );
        // The live API never showed it bad before that time.
        expect(seenBadAt.get(c.key)!).toBeGreaterThanOrEqual(liveBadSince.get(c.key)!);
      }
      // The same tuple's lifecycle: its first-bad time agrees with the window answer.
      const c = fixed[0]!;
      const l = await execa(
        process.execPath,
        [CLI, 'analyze', '--recording', copy, '--tuple', `${c.src}:${c.sport}->${r.vip}:53`, '--json'],
        { reject: false },
      );
      expect(l.exitCode).toBe(1);
      const life = JSON.parse(String(l.stdout)) as LifecycleAnswer;
      const bad = life.flows.filter((f) => f.firstBad !== null);
      expect(bad.length).toBeGreaterThan(0);
      const w = answer.flows.find((x) => x.flow.orig.src === c.src && x.flow.orig.sport === c.sport)!;
      expect(bad.some((f) => f.firstBad === w.since)).toBe(true);
    } finally {
      await stopLab(lab);
      await rm(copy, { recursive: true, force: true });
    }
  }, 120_000);
});
