// Writes a long synthetic recording fast for the post-mortem benchmark: gzip segments of NDJSON built from string
// templates (no per-record JSON.stringify), DNS flows at a steady rate with replies and DESTROYs, suspect polls,
// counters, a full dump every few minutes, and one incident (rules gone for a while, kept-alive flows after).
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createGzip } from 'node:zlib';
import { NAT_DOWN, NAT_UP } from '../server/test/support/synth-recording.mjs';

const SEG_BYTES = 256 * 1024 * 1024;

/** Options: start, rate (flows/s), targetBytes (uncompressed), incidentAtMs, dumpEveryMs. */
export async function writeBigRecording(dir, o = {}) {
  const start = o.start ?? Date.UTC(2026, 10, 1, 0, 0, 0);
  const rate = o.rate ?? 400;
  const target = o.targetBytes ?? 2.1 * 1024 ** 3;
  const incidentAt = start + (o.incidentAtMs ?? 30 * 60_000);
  const incidentEnd = incidentAt + 30_000;
  const deleteAt = incidentEnd + 120_000;
  const dumpEvery = o.dumpEveryMs ?? 5 * 60_000;
  await mkdir(dir, { recursive: true });
  const natUp = JSON.stringify(NAT_UP);
  const natDown = JSON.stringify(NAT_DOWN);
  let seq = 0;
  let gz;
  let file;
  let segBytes = 0;
  let total = 0;
  let records = 0;
  let parts = [];
  let partBytes = 0;
  const files = [];
  const flushParts = async () => {
    if (!parts.length) return;
    const s = parts.join('');
    parts = [];
    partBytes = 0;
    if (!gz.write(s)) await once(gz, 'drain');
  };
  const openSeg = async (t) => {
    if (gz) {
      await flushParts();
      gz.end();
      await once(file, 'finish');
    }
    const stamp = new Date(t)
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z');
    const name = `ctscope-${stamp}-${seq++}.ndjson.gz`;
    files.push(name);
    file = createWriteStream(join(dir, name));
    gz = createGzip({ level: 1 });
    gz.pipe(file);
    segBytes = 0;
    put(`{"k":"header","t":${t},"v":1,"node":"bench","writer":"synth-big-recording"}\n`);
  };
  const put = (s) => {
    parts.push(s);
    partBytes += s.length;
    segBytes += s.length;
    total += s.length;
    records++;
  };
  const tup = (id) => {
    const src = `10.42.${1 + ((id >> 16) & 127)}.${(id >> 8) & 255}`;
    return [src, 1024 + (id % 60000)];
  };
  const body = (id, timeout, reply, unreplied) => {
    const [src, sport] = tup(id);
    return `udp      17 ${timeout} src=${src} dst=10.43.0.10 sport=${sport} dport=53 ${unreplied ? '[UNREPLIED] ' : ''}src=${reply} dst=${src} sport=53 dport=${sport}`;
  };
  const ev = (t, type, id, timeout, reply, unreplied) =>
    put(
      `{"k":"line","t":${t},"src":"events","line":"[${(t / 1000).toFixed(6)}]\\t${type} ipv4     2 ${body(id, timeout, reply, unreplied)} id=${id}"}\n`,
    );
  await openSeg(start);
  put(`{"k":"nat","t":${start},"snapshot":${natUp}}\n`);
  // Scheduled events per 100 ms step: [type, id, reply, unreplied].
  const sched = new Map();
  const later = (step, e) => {
    const l = sched.get(step);
    if (l) l.push(e);
    else sched.set(step, [e]);
  };
  const live = new Map();
  const kept = [];
  let id = 0;
  let carry = 0;
  let down = false;
  let lastDump = start;
  let step = 0;
  let t = start;
  for (; total < target; step++) {
    t = start + step * 100;
    if (!down && t >= incidentAt && t < incidentEnd) {
      down = true;
      put(`{"k":"nat","t":${t},"snapshot":${natDown}}\n`);
    } else if (down && t >= incidentEnd) {
      down = false;
      put(`{"k":"nat","t":${t},"snapshot":${natUp}}\n`);
    }
    const due = sched.get(step);
    if (due) {
      sched.delete(step);
      for (const [type, fid, reply, unreplied] of due) {
        ev(t, type, fid, type === '[DESTROY]' ? 0 : 30, reply, unreplied);
        if (type === '[DESTROY]') live.delete(fid);
        else live.set(fid, reply);
      }
    }
    carry += rate / 10;
    while (carry >= 1) {
      carry--;
      const fid = ++id;
      const at = t + ((fid * 7) % 100);
      if (down) {
        ev(at, '    [NEW]', fid, 30, '10.43.0.10', true);
        live.set(fid, '10.43.0.10');
        if (kept.length < 50) kept.push(fid);
        else later(step + 300, ['[DESTROY]', fid, '10.43.0.10', true]);
      } else {
        const ep = fid & 1 ? '10.42.0.5' : '10.42.0.6';
        ev(at, '    [NEW]', fid, 30, ep, true);
        live.set(fid, ep);
        later(step + 1, [' [UPDATE]', fid, ep, false]);
        later(step + 300 + (fid % 20), ['[DESTROY]', fid, ep, false]);
      }
    }
    if (step % 20 === 0 && kept.length) {
      put(`{"k":"dump","t":${t},"phase":"begin","scope":"poll"}\n`);
      for (const k of kept)
        put(
          `{"k":"line","t":${t},"src":"poll","line":"ipv4     2 ${body(k, 30 - (step % 40 ? 1 : 0), '10.43.0.10', true)} mark=0 use=1 id=${k}"}\n`,
        );
      put(`{"k":"dump","t":${t},"phase":"end","scope":"poll"}\n`);
    }
    if (t === deleteAt) {
      for (const k of kept) {
        ev(t, '[DESTROY]', k, 0, '10.43.0.10', true);
        live.delete(k);
      }
      kept.length = 0;
    }
    if (step % 20 === 0)
      put(
        `{"k":"counters","t":${t},"count":${live.size},"max":262144,"stats":{"drop":0,"insert_failed":0}}\n`,
      );
    if (t - lastDump >= dumpEvery) {
      lastDump = t;
      put(`{"k":"dump","t":${t},"phase":"begin","scope":"full"}\n`);
      for (const [fid, reply] of live)
        put(
          `{"k":"line","t":${t},"src":"dump","line":"ipv4     2 ${body(fid, 20, reply, reply === '10.43.0.10')} mark=0 use=1 id=${fid}"}\n`,
        );
      put(`{"k":"dump","t":${t + 1},"phase":"end","scope":"full"}\n`);
    }
    if (partBytes > 4 << 20) await flushParts();
    if (segBytes >= SEG_BYTES) await openSeg(t + 1);
  }
  await flushParts();
  gz.end();
  await once(file, 'finish');
  return { dir, files, start, end: t, records, bytes: total, flows: id, incidentAt, incidentEnd, deleteAt };
}
