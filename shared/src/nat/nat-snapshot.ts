/** NAT snapshot core: normalise and hash parsed frontends, diff snapshots, look up frontends per flow, detect formats. */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import type { Endpoint, Frontend, FrontendDrop, NatDiff, NatSnapshot, NatSourceKind } from './nat-types.js';

/** Warnings kept per snapshot; a garbage input must not turn into megabytes of notes. */
const MAX_WARNINGS = 100;

/** Canonical address text: no brackets, no host prefix (`/32`, `/128`), lower case, RFC 5952 IPv6. */
export function normalizeIp(raw: string): string {
  let ip = raw.trim();
  if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
  if (ip.endsWith('/32') || ip.endsWith('/128')) ip = ip.slice(0, ip.lastIndexOf('/'));
  if (!ip.includes(':')) return ip;
  return canonicalIpv6(ip.toLowerCase());
}

// Compression is canonical so `fd00:0:0::5` from one tool matches `fd00::5` printed by conntrack.
function canonicalIpv6(ip: string): string {
  const groups = expandIpv6(ip);
  if (!groups) return ip;
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

// Eight 16-bit groups, or undefined for text that is not plain IPv6 (embedded IPv4 is left alone).
function expandIpv6(ip: string): number[] | undefined {
  if (ip.includes('.') || ip.includes('%')) return undefined;
  const halves = ip.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const parts = [...head, ...new Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  const out: number[] = [];
  for (const p of parts) {
    if (!/^[0-9a-f]{1,4}$/.test(p)) return undefined;
    out.push(Number.parseInt(p, 16));
  }
  return out;
}

// Sort key so IPv4 sorts numerically, then IPv6 numerically, then anything else as text.
function ipSortKey(ip: string): string {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (v4)
    return `4${v4
      .slice(1, 5)
      .map((o) => Number(o).toString(16).padStart(2, '0'))
      .join('')}`;
  const v6 = expandIpv6(ip);
  if (v6) return `6${v6.map((g) => g.toString(16).padStart(4, '0')).join('')}`;
  return `z${ip}`;
}

/** Endpoint order used in snapshots: by address (numeric), then port. */
export function compareEndpoints(a: Endpoint, b: Endpoint): number {
  const ka = ipSortKey(a.ip);
  const kb = ipSortKey(b.ip);
  if (ka !== kb) return ka < kb ? -1 : 1;
  return a.port - b.port;
}

function endpointId(e: Endpoint): string {
  return `${e.ip}|${e.port}`;
}

/** Frontend key `${proto}|${ip}|${port}`; ip is `*` for nodeports. */
export function frontendKey(proto: string, ip: string, port: number): string {
  return `${proto}|${ip}|${port}`;
}

/**
 * Build a snapshot: normalises addresses, merges frontends with the same key (first kind/service wins,
 * endpoints are unioned), sorts, and hashes. `noEndpointsRule` survives only on frontends left with no
 * endpoints: a Local-policy "has no local endpoints" DROP still lets pod traffic be DNATed.
 */
export function makeSnapshot(
  source: NatSourceKind,
  frontends: readonly Frontend[],
  warnings: readonly string[],
  takenAt?: number,
): NatSnapshot {
  const merged = new Map<
    string,
    { f: Frontend; eps: Map<string, Endpoint>; noEp: boolean; drops: Map<string, FrontendDrop> }
  >();
  for (const input of frontends) {
    const proto = input.proto.toLowerCase();
    const ip = input.ip === '*' ? '*' : normalizeIp(input.ip);
    const key = frontendKey(proto, ip, input.port);
    let entry = merged.get(key);
    if (!entry) {
      const f: Frontend = { key, kind: input.kind, ip, port: input.port, proto, endpoints: [] };
      if (input.service !== undefined) f.service = input.service;
      entry = { f, eps: new Map(), noEp: false, drops: new Map() };
      merged.set(key, entry);
    } else if (entry.f.service === undefined && input.service !== undefined) {
      entry.f.service = input.service;
    }
    if (input.noEndpointsRule) entry.noEp = true;
    for (const d of input.drops ?? []) entry.drops.set(dropId(d), d);
    for (const e of input.endpoints) {
      const ep = { ip: normalizeIp(e.ip), port: e.port };
      entry.eps.set(endpointId(ep), ep);
    }
  }
  const out: Frontend[] = [];
  for (const { f, eps, noEp, drops } of merged.values()) {
    f.endpoints = [...eps.values()].sort(compareEndpoints);
    if (noEp && f.endpoints.length === 0) f.noEndpointsRule = true;
    if (drops.size > 0) f.drops = [...drops.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, d]) => d);
    out.push(f);
  }
  out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const snap: NatSnapshot = {
    source,
    hash: hashFrontends(out),
    frontends: out,
    warnings: capWarnings(warnings),
  };
  if (takenAt !== undefined) snap.takenAt = takenAt;
  return snap;
}

/** Canonical text of a drop (dedupe and hash). */
function dropId(d: FrontendDrop): string {
  return JSON.stringify([d.kind, d.rule, d.allowedSources ?? [], d.exemptSources ?? []]);
}

function capWarnings(warnings: readonly string[]): string[] {
  if (warnings.length <= MAX_WARNINGS) return [...warnings];
  return [...warnings.slice(0, MAX_WARNINGS), `… ${warnings.length - MAX_WARNINGS} more warnings not shown`];
}

// Canonical form is positional arrays so property order can never change the hash; takenAt/warnings excluded.
function hashFrontends(frontends: readonly Frontend[]): string {
  const canonical = frontends.map((f) => [
    f.key,
    f.kind,
    f.service ?? null,
    f.noEndpointsRule === true,
    f.endpoints.map(endpointId),
    // Only when present, so snapshots without drops keep the hashes recordings already hold.
    ...(f.drops ? [f.drops.map(dropId)] : []),
  ]);
  return bytesToHex(sha256(utf8ToBytes(JSON.stringify(canonical)))).slice(0, 16);
}

/** Frontends added/removed and endpoint changes between two snapshots (kind/name-only changes are not reported). */
export function diffSnapshots(older: NatSnapshot, newer: NatSnapshot): NatDiff {
  const olderByKey = new Map(older.frontends.map((f) => [f.key, f]));
  const newerByKey = new Map(newer.frontends.map((f) => [f.key, f]));
  const diff: NatDiff = { addedFrontends: [], removedFrontends: [], changedFrontends: [] };
  for (const f of newer.frontends) {
    const before = olderByKey.get(f.key);
    if (!before) {
      diff.addedFrontends.push(f);
      continue;
    }
    const beforeIds = new Set(before.endpoints.map(endpointId));
    const afterIds = new Set(f.endpoints.map(endpointId));
    const addedEndpoints = f.endpoints.filter((e) => !beforeIds.has(endpointId(e)));
    const removedEndpoints = before.endpoints.filter((e) => !afterIds.has(endpointId(e)));
    if (addedEndpoints.length === 0 && removedEndpoints.length === 0) continue;
    const change: NatDiff['changedFrontends'][number] = { key: f.key, addedEndpoints, removedEndpoints };
    const service = f.service ?? before.service;
    if (service !== undefined) change.service = service;
    diff.changedFrontends.push(change);
  }
  for (const f of older.frontends) if (!newerByKey.has(f.key)) diff.removedFrontends.push(f);
  return diff;
}

/** True when a diff reports no frontend or endpoint change. */
export function isDiffEmpty(d: NatDiff): boolean {
  return d.addedFrontends.length === 0 && d.removedFrontends.length === 0 && d.changedFrontends.length === 0;
}

// Per-snapshot key index; snapshots are treated as immutable once built, so the cache never goes stale.
/** Frontends on one proto and port, by address (`*` for a nodeport); this runs per event. */
interface PortFrontends {
  byIp: Map<string, Frontend>;
  /** The nodeport frontend, if any. */
  star: Frontend | undefined;
  /** The frontend when it is the only one with an address: one string compare instead of hashing the address. */
  single: Frontend | undefined;
}
/** proto → port → frontends; nested maps so a lookup builds no key string. */
type FrontendIndex = Map<string, Map<number, PortFrontends>>;
const frontendIndex = new WeakMap<NatSnapshot, FrontendIndex>();
/** One-entry memo in front of the WeakMap: consecutive events are nearly always looked up in one snapshot. */
let lastSnapshot: NatSnapshot | undefined;
let lastIndex: FrontendIndex | undefined;

function buildIndex(s: NatSnapshot): FrontendIndex {
  const index: FrontendIndex = new Map();
  for (const f of s.frontends) {
    let ports = index.get(f.proto);
    if (!ports) {
      ports = new Map();
      index.set(f.proto, ports);
    }
    let entry = ports.get(f.port);
    if (!entry) {
      entry = { byIp: new Map(), star: undefined, single: undefined };
      ports.set(f.port, entry);
    }
    entry.byIp.set(f.ip, f);
  }
  for (const ports of index.values()) {
    for (const entry of ports.values()) {
      entry.star = entry.byIp.get('*');
      const addressed = entry.byIp.size - (entry.star === undefined ? 0 : 1);
      if (addressed === 1) {
        for (const [ip, f] of entry.byIp) if (ip !== '*') entry.single = f;
      }
    }
  }
  return index;
}

function indexFor(s: NatSnapshot): FrontendIndex {
  if (s === lastSnapshot) return lastIndex!;
  let index = frontendIndex.get(s);
  if (!index) {
    index = buildIndex(s);
    frontendIndex.set(s, index);
  }
  lastSnapshot = s;
  lastIndex = index;
  return index;
}

/** Frontend for a flow's original destination: exact address first, then a nodeport (`*`) on that port. */
export function findFrontend(s: NatSnapshot, proto: string, ip: string, port: number): Frontend | undefined {
  const entry = indexFor(s).get(proto)?.get(port);
  if (entry === undefined) return undefined;
  const { single } = entry;
  if (single !== undefined) return single.ip === ip ? single : entry.star;
  return entry.byIp.get(ip) ?? entry.star;
}
