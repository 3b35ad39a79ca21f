/** NetnsProcNet against a fake /proc and /run/netns: which process it reads through, and when it gives up. */
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  constants,
  mkdirSync,
  mkdtempSync,
  openSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { NetnsProcNet } from '../src/node/netns-proc-net.js';
import { openFds } from './support/open-fds.js';

let tmp: string;
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'ctscope-procnet-'));
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

function write(rel: string, text: string): string {
  const file = join(tmp, rel);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  return file;
}
/** Namespace `name`: its ns/net link text. */
function netns(name: string): string {
  return `net:[${statSync(write(`netns/${name}`, '')).ino}]`;
}
/** Process `pid` in the namespace `link` names, with `text` as its net/stat/nf_conntrack. */
function proc(pid: number, link: string, text?: string): void {
  const ns = join(tmp, 'proc', String(pid), 'ns', 'net');
  mkdirSync(dirname(ns), { recursive: true });
  rmSync(ns, { force: true });
  symlinkSync(link, ns);
  if (text !== undefined) write(`proc/${pid}/net/stat/nf_conntrack`, text);
}
const opts = (o: { now?: () => number; rescanMs?: number } = {}) => ({
  procRoot: join(tmp, 'proc'),
  netnsRoot: join(tmp, 'netns'),
  ...o,
});

describe('NetnsProcNet', () => {
  it.each([
    { name: 'outside a namespace: our own', netns: undefined, pids: [], expected: 'self' },
    { name: 'the one process in it', netns: 'lab', pids: [[200, 'lab']], expected: '200' },
    {
      name: 'a process in it, not the newer ones elsewhere',
      netns: 'lab',
      pids: [
        [100, 'lab'],
        [300, 'other'],
        [400, 'other'],
      ],
      expected: '100',
    },
    { name: 'nobody when none lives there', netns: 'lab', pids: [[300, 'other']], expected: undefined },
    {
      name: 'nobody when the namespace does not exist',
      netns: 'gone',
      pids: [[300, 'other']],
      expected: undefined,
    },
  ] as const)('reads through $name', async ({ netns: name, pids, expected }) => {
    const links = { lab: netns('lab'), other: netns('other') };
    write('proc/self/net/stat/nf_conntrack', 'self');
    for (const [pid, ns] of pids) proc(pid, links[ns], String(pid));
    expect(await new NetnsProcNet(name, opts()).read('stat/nf_conntrack')).toBe(expected);
  });

  it('scans again only after rescanMs when it found no process', async () => {
    const lab = netns('lab');
    proc(300, netns('other'), 'other');
    let clock = 1000;
    const procNet = new NetnsProcNet('lab', opts({ now: () => clock, rescanMs: 5000 }));
    expect(await procNet.read('stat/nf_conntrack')).toBeUndefined();
    proc(200, lab, 'found');
    clock += 4999;
    expect(await procNet.read('stat/nf_conntrack')).toBeUndefined();
    clock += 1;
    expect(await procNet.read('stat/nf_conntrack')).toBe('found');
  });

  it('voids a reading when its process left the namespace while the file was read', async () => {
    const lab = netns('lab');
    proc(200, lab);
    // A FIFO as the file, held open for writing here: the read waits for data while the pid changes namespace.
    const file = join(tmp, 'proc', '200', 'net', 'stat', 'nf_conntrack');
    mkdirSync(dirname(file), { recursive: true });
    execFileSync('mkfifo', [file]);
    let writer: number | undefined = openSync(file, constants.O_RDWR | constants.O_NONBLOCK);
    try {
      const reading = new NetnsProcNet('lab', opts()).read('stat/nf_conntrack');
      await vi.waitFor(() => expect(openFds((target) => target === file)).toHaveLength(2), {
        timeout: 10_000,
        interval: 10,
      });
      proc(200, netns('other'));
      writeSync(writer, 'from another namespace');
      closeSync(writer);
      writer = undefined;
      expect(await reading).toBeUndefined();
    } finally {
      if (writer !== undefined) closeSync(writer);
    }
  });
});
