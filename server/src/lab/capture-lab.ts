/**
 * `ctscope lab capture`: record one fault on a running lab as the seed-incident-style files that
 * server/test/fixtures/lab/ holds and `ctscope analyze` reads:
 *
 *   events.txt      conntrack -E -o timestamp,extended,id (node namespace), from before the fault to the end
 *   nat-before.txt  iptables-save -t nat before the fault
 *   nat-during.txt  … inside the restart gap (restart only)
 *   nat-after.txt   … at the end
 *   list-poll.txt   `--dumps` conntrack -L -o extended,id dumps after the fault, `--dump-interval` s apart,
 *                   separated by `--` lines, each preceded by conntrack's own "N flow entries" line
 *   client-*.log    every client's log lines from the capture
 *   meta.json       addresses, ports, versions and the fault's timeline, for the tests' expectations
 *
 * Run it on a fresh lab (`lab up --no-serve`), one fault per lab, so the "before" state is healthy.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { release } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { labReplaceEndpoint, labRestart, requireState } from './lab-faults.js';
import type { LabContext } from './lab-lifecycle.js';
import { conntrackIn, labPath, run, saveNat } from './lab-netns.js';

export interface CaptureOptions {
  out: string;
  fault: 'restart' | 'replace-endpoint';
  gapS: number;
  dumps: number;
  dumpIntervalS: number;
}

export async function captureLab(
  ctx: LabContext,
  opts: CaptureOptions,
): Promise<{ files: string[]; meta: unknown }> {
  const state = await requireState(ctx);
  const node = state.topology.node;
  await mkdir(opts.out, { recursive: true });
  const files: string[] = [];
  const write = async (name: string, text: string) => {
    await writeFile(join(opts.out, name), text);
    files.push(name);
  };
  const logStart = new Map<string, number>();
  for (const p of state.processes) logStart.set(p.key, (await stat(p.log).catch(() => ({ size: 0 }))).size);
  const podIpsBefore = { ...state.podIps };

  const eventsFd = openSync(join(opts.out, 'events.txt'), 'w');
  files.push('events.txt');
  // stdout and stderr into one file, as the seed capture has them (conntrack's closing summary is on stderr).
  const events = spawn('ip', ['netns', 'exec', node, 'conntrack', '-E', '-o', 'timestamp,extended,id'], {
    stdio: ['ignore', eventsFd, eventsFd],
    env: { ...process.env, PATH: labPath() },
  });
  const eventsExit = new Promise<void>((resolve) => {
    events.once('exit', () => resolve());
    events.once('error', () => resolve());
  });
  let fault: unknown;
  try {
    await sleep(2000); // some healthy traffic first
    await write('nat-before.txt', await saveNat(node, state.iptables));
    if (opts.fault === 'restart') {
      fault = await labRestart(ctx, {
        service: 'dns',
        gapS: opts.gapS,
        duringGap: async () => write('nat-during.txt', await saveNat(node, state.iptables)),
      });
    } else {
      fault = await labReplaceEndpoint(ctx, { service: 'dns' });
    }
    const dumps: string[] = [];
    for (let i = 0; i < opts.dumps; i++) {
      await sleep(i === 0 ? 1000 : opts.dumpIntervalS * 1000);
      const r = await conntrackIn(node, ['-L', '-o', 'extended,id']);
      dumps.push(`${r.stderr.trim()}\n${r.stdout.trimEnd()}`);
    }
    await write('list-poll.txt', `${dumps.join('\n--\n')}\n`);
    await write('nat-after.txt', await saveNat(node, state.iptables));
    await sleep(500);
  } finally {
    events.kill('SIGINT');
    await eventsExit;
    closeSync(eventsFd);
  }

  for (const p of state.processes) {
    if (p.role !== 'client') continue;
    const text = await readFile(p.log, 'utf8').catch(() => '');
    await write(
      `client-${p.key}.log`,
      Buffer.from(text)
        .subarray(logStart.get(p.key) ?? 0)
        .toString(),
    );
  }
  const after = (await requireState(ctx)).podIps;
  const t = state.topology;
  const meta = {
    fault,
    capturedAt: new Date().toISOString(),
    kernel: release(),
    conntrack: (await run('conntrack', ['--version'])).stdout.trim(),
    iptables: (await run(`iptables-${state.iptables}`, ['--version'])).stdout.trim(),
    backend: state.iptables,
    services: t.services.map((s) => ({
      key: s.key,
      name: `${s.namespace}/${s.name}:${s.portName}`,
      vip: s.clusterIp,
      port: s.port,
    })),
    podIpsBefore,
    podIpsAfter: after,
    clients: t.clients.map((c) => ({
      key: c.key,
      src: t.apps.find((a) => a.key === c.app)?.ip,
      sport: c.sport ?? null,
      mode: c.mode,
      service: c.service,
    })),
  };
  await write('meta.json', `${JSON.stringify(meta, null, 2)}\n`);
  return { files, meta };
}
