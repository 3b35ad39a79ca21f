/** Real kernel, as root: counters read through a process in a namespace equal `conntrack -S` and `-C` there. */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { parseConntrackLine, parseConntrackProcStat } from '@ctscope/shared';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetnsProcNet } from '../../src/node/netns-proc-net.js';
import {
  compileFlood,
  conntrackCount,
  createFloodNetns,
  deleteNetns,
  floodSkipReason,
  runFlood,
} from './flood-netns.mjs';

const skip = floodSkipReason();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `conntrack -S` in the namespace, summed over CPUs. */
async function conntrackStats(ns: string): Promise<Record<string, number>> {
  const out = (await execa('ip', ['netns', 'exec', ns, 'conntrack', '-S'])).stdout;
  const sums: Record<string, number> = {};
  for (const line of out.split('\n')) {
    const rec = parseConntrackLine(line);
    if (rec.kind !== 'cpu-stats') continue;
    for (const [k, v] of Object.entries(rec.counters)) sums[k] = (sums[k] ?? 0) + v;
  }
  return sums;
}

describe.skipIf(skip !== undefined)('conntrack counters from /proc on the real kernel', () => {
  const ns = `kct-${randomBytes(3).toString('hex')}`;

  beforeAll(async () => {
    await createFloodNetns(ns);
  }, 30_000);

  afterAll(async () => {
    await deleteNetns(ns);
  });

  it('match conntrack -S and -C inside the namespace, read through a process that lives there', async () => {
    const flood = await runFlood(await compileFlood(), ns, { count: 500, rate: 5000 });
    expect(flood.sent).toBe(500);
    const procNet = new NetnsProcNet(ns, { rescanMs: 0 });
    // Nothing lives in the namespace yet: no reading, so the poller would run the commands.
    expect(await procNet.read('stat/nf_conntrack')).toBeUndefined();

    const sleeper = spawn('ip', ['netns', 'exec', ns, 'sleep', '60'], { stdio: 'ignore' });
    const exited = new Promise((r) => sleeper.once('exit', r));
    try {
      let text: string | undefined;
      for (let i = 0; i < 100 && text === undefined; i++) {
        text = await procNet.read('stat/nf_conntrack');
        if (text === undefined) await sleep(50);
      }
      expect(text).toBeDefined();
      const fromProc = parseConntrackProcStat(text!);
      // The entries live 30 s (UDP, unanswered) and nothing else runs there: both readings see the same table.
      expect(fromProc.count).toBeGreaterThanOrEqual(495);
      expect(fromProc.count).toBe(await conntrackCount(ns));
      // Every counter conntrack -S prints, with its value (an older conntrack prints fewer).
      const printed = await conntrackStats(ns);
      expect(Object.keys(printed).length).toBeGreaterThan(0);
      for (const [k, v] of Object.entries(printed)) expect({ [k]: fromProc.stats[k] }).toEqual({ [k]: v });
      // The host's own file is another table.
      const host = await new NetnsProcNet(undefined).read('stat/nf_conntrack');
      expect(host).toBeDefined();
      expect(parseConntrackProcStat(host!).count).not.toBe(fromProc.count);
    } finally {
      sleeper.kill('SIGKILL');
      await exited;
    }
    // The process it read through is gone, and no other lives there.
    expect(await procNet.read('stat/nf_conntrack')).toBeUndefined();
  }, 60_000);
});
