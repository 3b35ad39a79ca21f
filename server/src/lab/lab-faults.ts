/**
 * The lab's faults.
 *
 * `restart` is the seed incident: kube-proxy removes a service's rules and deletes its conntrack
 * entries while the pod is replaced, and puts the rules back after a gap. Order matters: the
 * entries are deleted AFTER the rules are gone, so the fixed-port client's next packet, which arrives during
 * the gap, creates a fresh entry with no DNAT (only the pod-CIDR MASQUERADE applies). Its reply tuple's source
 * is the VIP itself; nothing ever answers, and the client's packets keep it alive.
 *
 * `replace-endpoint` is the older-kube-proxy case: an endpoint pod comes back with a new address, the rules are
 * updated, and nobody deletes the conntrack entries still DNATed to the old address.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import { parseConntrackOutputLine } from '@ctscope/shared';
import { type LabContext, LabError } from './lab-lifecycle.js';
import { conntrackIn, deleteEntriesTo, renumberPod } from './lab-netns.js';
import { labPreflight } from './lab-preflight.js';
import { applyLabRules } from './lab-rules.js';
import { type LabState, noteHistory, readState, writeState } from './lab-state.js';
import { clientEndpoints, findPod, findService, type LabService, nextPodIp } from './lab-topology.js';

/** The state of a lab that is up, or a LabError saying how to bring it up. */
export async function requireState(ctx: LabContext): Promise<LabState> {
  const state = await readState(ctx.stateDir, ctx.name);
  if (!state)
    throw new LabError(
      `lab "${ctx.name}" is not up (no state in ${ctx.stateDir}); run \`ctscope lab up --name ${ctx.name}\``,
    );
  await labPreflight(state.iptables);
  return state;
}

function spn(s: LabService): string {
  return `${s.namespace}/${s.name}:${s.portName}`;
}

/** The service's ClusterIPs, IPv4 first. */
function vips(s: LabService): string[] {
  return s.clusterIp6 === undefined ? [s.clusterIp] : [s.clusterIp, s.clusterIp6];
}

export interface RestartResult {
  fault: 'restart';
  service: string;
  vip: string;
  /** The IPv6 ClusterIP of a dual-stack service (its ip6tables rules went too). */
  vip6?: string;
  gapS: number;
  /** ms since the epoch. */
  rulesRemovedAt: number;
  entriesDeleted: number;
  entriesDeletedAt: number;
  rulesRestoredAt: number;
}

export interface RestartOptions {
  service: string;
  gapS: number;
  /** Called inside the gap, after the entries were deleted (the capture takes its `nat-during` dump here). */
  duringGap?: () => Promise<void>;
}

export async function labRestart(ctx: LabContext, opts: RestartOptions): Promise<RestartResult> {
  const state = await requireState(ctx);
  const svc = findService(state.topology, opts.service);
  const node = state.topology.node;
  state.servicesWithoutRules = [...new Set([...state.servicesWithoutRules, svc.key])];
  await writeState(ctx.stateDir, state);
  let rulesRemovedAt = 0;
  let entriesDeleted = 0;
  let entriesDeletedAt = 0;
  try {
    await applyLabRules(state);
    rulesRemovedAt = Date.now();
    ctx.say(
      `${spn(svc)}: rules removed (KUBE-SERVICES jump, KUBE-SVC and KUBE-SEP chains${svc.clusterIp6 ? ', IPv4 and IPv6' : ''})`,
    );
    for (const vip of vips(svc)) {
      const n = await deleteEntriesTo(node, vip);
      entriesDeleted += n;
      ctx.say(`conntrack -D -p udp --orig-dst ${vip}: ${n} entries deleted`);
    }
    entriesDeletedAt = Date.now();
    await opts.duringGap?.();
    await sleep(Math.max(0, rulesRemovedAt + opts.gapS * 1000 - Date.now()));
  } finally {
    // Whatever happened, the rules come back.
    state.servicesWithoutRules = state.servicesWithoutRules.filter((k) => k !== svc.key);
    await applyLabRules(state);
  }
  const rulesRestoredAt = Date.now();
  ctx.say(`${spn(svc)}: rules restored after ${((rulesRestoredAt - rulesRemovedAt) / 1000).toFixed(1)} s`);
  noteHistory(
    state,
    `restart ${svc.key}: gap ${opts.gapS} s, ${entriesDeleted} entries deleted`,
    new Date(rulesRemovedAt),
  );
  await writeState(ctx.stateDir, state);
  return {
    fault: 'restart',
    service: spn(svc),
    vip: svc.clusterIp,
    ...(svc.clusterIp6 === undefined ? {} : { vip6: svc.clusterIp6 }),
    gapS: opts.gapS,
    rulesRemovedAt,
    entriesDeleted,
    entriesDeletedAt,
    rulesRestoredAt,
  };
}

/** A fixed-port client and the endpoint its conntrack entry is DNATed to. */
export interface PinnedClient {
  client: string;
  src: string;
  sport: number;
  /** `R.src` of its entry, or undefined when it has none right now. */
  endpoint?: string;
}

/** Where each fixed-port client of a service is pinned, read from the node's conntrack table. */
export async function pinnedClients(state: LabState, service: string): Promise<PinnedClient[]> {
  const t = state.topology;
  const svc = findService(t, service);
  const out: PinnedClient[] = [];
  for (const c of t.clients) {
    if (c.service !== svc.key || c.mode !== 'fixed' || c.sport === undefined) continue;
    const { src, vip } = clientEndpoints(t, c);
    const r = await conntrackIn(t.node, [
      '-L',
      '-p',
      'udp',
      '--orig-src',
      src,
      '--sport',
      String(c.sport),
      '--orig-dst',
      vip,
      '--dport',
      String(svc.port),
    ]);
    let endpoint: string | undefined;
    for (const line of r.stdout.split('\n')) {
      const rec = parseConntrackOutputLine(line);
      if (rec.kind === 'flow') endpoint = rec.reply.src;
    }
    out.push({ client: c.key, src, sport: c.sport, endpoint });
  }
  return out;
}

export interface ReplaceEndpointResult {
  fault: 'replace-endpoint';
  service: string;
  pod: string;
  oldIp: string;
  newIp: string;
  rulesUpdatedAt: number;
  /** Fixed-port clients and whether their entry points at the old address (those are now stale). */
  clients: Array<PinnedClient & { stale: boolean }>;
}

export interface ReplaceEndpointOptions {
  service: string;
  /** Pod to replace; default: the one the service's first fixed-port client is pinned to. */
  pod?: string;
}

export async function labReplaceEndpoint(
  ctx: LabContext,
  opts: ReplaceEndpointOptions,
): Promise<ReplaceEndpointResult> {
  const state = await requireState(ctx);
  const t = state.topology;
  const svc = findService(t, opts.service);
  const pods = t.pods.filter((p) => p.service === svc.key);
  const pinned = await pinnedClients(state, svc.key);
  let podKey = opts.pod;
  if (podKey === undefined) {
    const target = pinned.find((c) => c.endpoint !== undefined)?.endpoint;
    podKey = pods.find((p) => state.podIps[p.key] === target)?.key ?? pods[0]?.key;
  }
  if (!podKey) throw new LabError(`service ${svc.key} has no pods`);
  const pod = findPod(t, podKey);
  if (pod.service !== svc.key) throw new LabError(`pod ${pod.key} serves ${pod.service}, not ${svc.key}`);
  const oldIp = state.podIps[pod.key] ?? pod.ip;
  const newIp = nextPodIp([
    ...Object.values(state.podIps),
    ...t.pods.map((p) => p.ip),
    ...t.apps.map((a) => a.ip),
  ]);
  await renumberPod(t.node, pod, oldIp, newIp);
  state.podIps[pod.key] = newIp;
  await applyLabRules(state);
  const rulesUpdatedAt = Date.now();
  ctx.say(`${pod.key}: ${oldIp} -> ${newIp}; ${spn(svc)} rules updated; conntrack entries left alone`);
  noteHistory(state, `replace-endpoint ${pod.key}: ${oldIp} -> ${newIp}`, new Date(rulesUpdatedAt));
  await writeState(ctx.stateDir, state);
  return {
    fault: 'replace-endpoint',
    service: spn(svc),
    pod: pod.key,
    oldIp,
    newIp,
    rulesUpdatedAt,
    clients: pinned.map((c) => ({ ...c, stale: c.endpoint === oldIp })),
  };
}
