/**
 * The lab's kernel-facing commands: ip, iptables-{nft,legacy}-{save,restore}, conntrack and sysctl files, all
 * through the node command runner (argument arrays, never a shell string); commands for a namespace run as
 * `ip netns exec NAME cmd …` or `ip -n NAME …`.
 */
import {
  type CommandResult,
  NodeCommandError,
  type RunOptions,
  runNodeCommand,
} from '../node/node-command.js';

/** PATH with the sbin directories appended when missing (root tools live there; `sudo` may drop them). */
export function labPath(path = process.env.PATH ?? ''): string {
  const parts = path.split(':').filter((p) => p !== '');
  for (const d of ['/usr/local/sbin', '/usr/sbin', '/sbin']) if (!parts.includes(d)) parts.push(d);
  return parts.join(':');
}

/** Which iptables implementation the lab's node namespace uses. */
export type IptablesBackend = 'nft' | 'legacy';

/** Run one command to completion with the sbin directories on PATH; rejects with the argv and the tool's own message. */
export function run(
  file: string,
  args: readonly string[],
  opts: Pick<RunOptions, 'input' | 'timeoutMs' | 'okExitCodes' | 'netns'> = {},
): Promise<CommandResult> {
  return runNodeCommand(file, args, { timeoutMs: 20_000, ...opts, env: { PATH: labPath() } });
}

/** `ip netns exec NAME file args…`. */
export function runIn(
  netns: string,
  file: string,
  args: readonly string[],
  opts: Parameters<typeof run>[2] = {},
): Promise<CommandResult> {
  return run(file, args, { ...opts, netns });
}

/** `ip -n NAME args…`. */
export function ipIn(netns: string, args: readonly string[]): Promise<CommandResult> {
  return run('ip', ['-n', netns, ...args]);
}

/** Names of the existing network namespaces. */
export async function listNetns(): Promise<string[]> {
  const out = (await run('ip', ['netns', 'list'])).stdout;
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n !== '');
}

export async function addNetns(netns: string): Promise<void> {
  await run('ip', ['netns', 'add', netns]);
  await ipIn(netns, ['link', 'set', 'lo', 'up']);
}

/** Delete a namespace; a missing one is fine (idempotent teardown). */
export async function deleteNetns(netns: string): Promise<void> {
  try {
    await run('ip', ['netns', 'delete', netns]);
  } catch (err) {
    if (
      err instanceof NodeCommandError &&
      /No such file or directory|Invalid netns name|not found/i.test(err.message)
    )
      return;
    throw err;
  }
}

/** Pids of the processes inside a namespace (empty when it does not exist). */
export async function netnsPids(netns: string): Promise<number[]> {
  try {
    const out = (await run('ip', ['netns', 'pids', netns])).stdout;
    return out
      .split('\n')
      .map((l) => Number(l.trim()))
      .filter((n) => Number.isInteger(n) && n > 0);
  } catch {
    return [];
  }
}

/** Write a per-namespace sysctl file, e.g. `net/ipv4/ip_forward` (via tee inside the namespace: /proc/sys/net is per-netns). */
export async function writeSysctl(netns: string, key: string, value: string): Promise<void> {
  await runIn(netns, 'tee', [`/proc/sys/${key}`], { input: `${value}\n` });
}

/** Read a per-namespace sysctl file; undefined when it does not exist. */
export async function readSysctl(netns: string, key: string): Promise<string | undefined> {
  try {
    return (await runIn(netns, 'cat', [`/proc/sys/${key}`])).stdout.trim();
  } catch {
    return undefined;
  }
}

/** The iptables binary of a backend, e.g. `iptables-legacy-restore`. */
export function iptablesBinary(
  backend: IptablesBackend,
  tool: 'restore' | 'save',
  family: 4 | 6 = 4,
): string {
  return `${family === 6 ? 'ip6tables' : 'iptables'}-${backend}-${tool}`;
}

/** Replace the whole nat table of one family in a namespace with an (ip6)tables-restore file, atomically. */
export async function restoreNat(
  netns: string,
  backend: IptablesBackend,
  rules: string,
  family: 4 | 6 = 4,
): Promise<void> {
  await runIn(netns, iptablesBinary(backend, 'restore', family), [], { input: rules });
}

/** `iptables-save -t nat` (or `ip6tables-save`) of the namespace with the backend's own save binary. */
export async function saveNat(netns: string, backend: IptablesBackend, family: 4 | 6 = 4): Promise<string> {
  return (await runIn(netns, iptablesBinary(backend, 'save', family), ['-t', 'nat'])).stdout;
}

/** `conntrack ARGS` in a namespace. `-D` and `-L` that match nothing exit 1: that is not an error here. */
export async function conntrackIn(netns: string, args: readonly string[]): Promise<CommandResult> {
  return runIn(netns, 'conntrack', args, { okExitCodes: [0, 1] });
}

/** Delete every UDP entry to `ip` (`conntrack -D -p udp --orig-dst IP`); returns how many went. */
export async function deleteEntriesTo(netns: string, ip: string): Promise<number> {
  // conntrack lists, then deletes one by one: an entry that expires in between fails the whole command with
  // "such conntrack doesn't exist" (seen on a loaded machine). Another pass deletes the rest.
  for (let attempt = 1; ; attempt++) {
    const r = await conntrackIn(netns, ['-D', '-p', 'udp', '--orig-dst', ip]);
    const m = /(\d+) flow entries have been deleted/.exec(r.stderr);
    if (m) return Number(m[1]);
    if (r.exitCode === 0) return 0;
    if (attempt < 3 && /doesn't exist/.test(r.stderr)) continue;
    throw new NodeCommandError(`conntrack -D -p udp --orig-dst ${ip}: ${r.stderr.trim()}`, r);
  }
}

/**
 * Create a routed /32 veth between the node and a pod namespace (see lab-topology.ts), plus a routed /128 when
 * the pod has an IPv6 address. IPv6 addresses skip duplicate address detection (`nodad`): every host-side
 * veth carries the same gateway address, and DAD would keep each address unusable for a second or two.
 */
export async function addRoutedVeth(
  node: string,
  pod: { netns: string; hostIf: string; ip: string; ip6?: string },
  gateway: string,
  gateway6?: string,
): Promise<void> {
  // Both ends are created straight inside their namespaces, so nothing ever appears in the host's namespace.
  await ipIn(node, ['link', 'add', pod.hostIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', pod.netns]);
  await ipIn(node, ['addr', 'add', `${gateway}/32`, 'dev', pod.hostIf]);
  await ipIn(node, ['link', 'set', pod.hostIf, 'up']);
  await ipIn(node, ['route', 'add', `${pod.ip}/32`, 'dev', pod.hostIf]);
  await ipIn(pod.netns, ['addr', 'add', `${pod.ip}/32`, 'dev', 'eth0']);
  await ipIn(pod.netns, ['link', 'set', 'eth0', 'up']);
  await ipIn(pod.netns, ['route', 'add', 'default', 'via', gateway, 'dev', 'eth0', 'onlink']);
  if (pod.ip6 === undefined || gateway6 === undefined) return;
  await ipIn(node, ['-6', 'addr', 'add', `${gateway6}/128`, 'dev', pod.hostIf, 'nodad']);
  await ipIn(node, ['-6', 'route', 'add', `${pod.ip6}/128`, 'dev', pod.hostIf]);
  await ipIn(pod.netns, ['-6', 'addr', 'add', `${pod.ip6}/128`, 'dev', 'eth0', 'nodad']);
  await ipIn(pod.netns, ['-6', 'route', 'add', 'default', 'via', gateway6, 'dev', 'eth0', 'onlink']);
}

/** Move a pod to a new address: add the new one first (removing a device's last address flushes its routes). */
export async function renumberPod(
  node: string,
  pod: { netns: string; hostIf: string },
  oldIp: string,
  newIp: string,
): Promise<void> {
  await ipIn(pod.netns, ['addr', 'add', `${newIp}/32`, 'dev', 'eth0']);
  await ipIn(pod.netns, ['addr', 'del', `${oldIp}/32`, 'dev', 'eth0']);
  await ipIn(node, ['route', 'replace', `${newIp}/32`, 'dev', pod.hostIf]);
  await ipIn(node, ['route', 'del', `${oldIp}/32`, 'dev', pod.hostIf]);
}

/**
 * The node's uplink: veth `eth0` into the upstream namespace, a default route, and a permanent neighbour
 * entry for the gateway with a MAC nobody has. Un-NATed service traffic is routed out, masqueraded and
 * confirmed in conntrack like on a real node, then dropped by the upstream end (not addressed to it).
 */
export async function addUplink(
  node: string,
  upstream: string,
  cidr: string,
  gateway: string,
  gatewayMac: string,
  v6?: { cidr: string; gateway: string },
): Promise<void> {
  await ipIn(node, ['link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', upstream]);
  await ipIn(upstream, ['link', 'set', 'eth0', 'up']);
  await ipIn(node, ['addr', 'add', cidr, 'dev', 'eth0']);
  await ipIn(node, ['link', 'set', 'eth0', 'up']);
  await ipIn(node, ['neigh', 'replace', gateway, 'lladdr', gatewayMac, 'dev', 'eth0', 'nud', 'permanent']);
  await ipIn(node, ['route', 'add', 'default', 'via', gateway, 'dev', 'eth0']);
  if (!v6) return;
  await ipIn(node, ['-6', 'addr', 'add', v6.cidr, 'dev', 'eth0', 'nodad']);
  await ipIn(node, [
    '-6',
    'neigh',
    'replace',
    v6.gateway,
    'lladdr',
    gatewayMac,
    'dev',
    'eth0',
    'nud',
    'permanent',
  ]);
  await ipIn(node, ['-6', 'route', 'add', 'default', 'via', v6.gateway, 'dev', 'eth0']);
}
