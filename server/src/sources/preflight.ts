/** Startup checks: can ctscope read conntrack and NAT rules on this node, and if not, what exactly to fix. */
import { constants } from 'node:fs';
import { access, readFile, stat } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { NodeCommandError, runNodeCommand } from '../node/node-command.js';
import { canUseFifo, LISTENER_FIFO_PRIORITY, NOT_PRIORITISED } from './listener-priority.js';
import type { NodeCommandOptions } from './source-types.js';

/** One check's outcome. `fatal` says whether this check failing stops ctscope (set on passed checks too). */
export interface PreflightCheck {
  /** `privileges`, `netns`, `binary:<name>`, `nf_conntrack_events`. */
  id: string;
  ok: boolean;
  fatal: boolean;
  /** What was found; for a failed check, exactly what is wrong. */
  message: string;
  /** How to fix it (failed checks). */
  hint?: string;
}

export interface PreflightOptions {
  node: NodeCommandOptions;
  natMode: 'auto' | 'iptables' | 'nft' | 'ipvs';
  /** Default `/proc` (for tests). */
  procRoot?: string;
  /** Default `process.getuid` (for tests). */
  getuid?: () => number;
  /** Whether the listener may run under SCHED_FIFO (default: probed with `chrt`). */
  canUseFifo?: () => Promise<boolean>;
}

const CAP_NET_ADMIN = 12n;
const CAP_SYS_ADMIN = 21n;
const COMMAND_TIMEOUT_MS = 10_000;
const EVENTS_SYSCTL = 'sys/net/netfilter/nf_conntrack_events';

interface Tool {
  name: string;
  pkg: string;
  purpose: string;
  natMode?: 'iptables' | 'nft' | 'ipvs';
}

const TOOLS: readonly Tool[] = [
  { name: 'conntrack', pkg: 'conntrack', purpose: 'conntrack events, table dumps and counters' },
  { name: 'iptables-save', pkg: 'iptables', purpose: 'iptables-mode NAT rules', natMode: 'iptables' },
  { name: 'nft', pkg: 'nftables', purpose: 'nftables-mode NAT rules', natMode: 'nft' },
  { name: 'ipvsadm', pkg: 'ipvsadm', purpose: 'IPVS-mode NAT rules', natMode: 'ipvs' },
  { name: 'ip', pkg: 'iproute2', purpose: 'entering a network namespace (ip netns exec)' },
];

/** Run every check; never throws. Order: privileges, netns, binaries, listener-priority, nf_conntrack_events. */
export async function runPreflight(opts: PreflightOptions): Promise<PreflightCheck[]> {
  const procRoot = opts.procRoot ?? '/proc';
  const netns = opts.node.netns;
  const [privileges, netnsCheck, ...binaries] = await Promise.all([
    checkPrivileges(procRoot, opts.getuid ?? process.getuid, netns),
    netns ? checkNetns(netns) : undefined,
    ...TOOLS.map((t) => checkBinary(t, opts.natMode, netns !== undefined)),
  ]);
  const checks: PreflightCheck[] = [privileges];
  if (netnsCheck) checks.push(netnsCheck);
  checks.push(...binaries);
  checks.push(await checkListenerPriority(opts.canUseFifo ?? canUseFifo));
  // Inside a missing netns every read fails the same way; the netns check already says why.
  if (!netnsCheck || netnsCheck.ok) checks.push(await checkEvents(procRoot, netns));
  return checks;
}

/** `fatal` when a fatal check failed, `degraded` when only non-fatal ones did, else `ok`. */
export function preflightVerdict(checks: readonly PreflightCheck[]): 'ok' | 'degraded' | 'fatal' {
  if (checks.some((c) => !c.ok && c.fatal)) return 'fatal';
  return checks.some((c) => !c.ok) ? 'degraded' : 'ok';
}

/** Failed checks, one line each with an indented hint line below; a single line when all passed. */
export function formatPreflight(checks: readonly PreflightCheck[]): string {
  const failed = checks.filter((c) => !c.ok);
  if (failed.length === 0) return `preflight: all ${checks.length} checks passed`;
  const lines: string[] = [];
  for (const c of failed) {
    lines.push(`${c.fatal ? 'FATAL' : 'WARN '} ${c.id}: ${c.message}`);
    if (c.hint) lines.push(`      hint: ${c.hint}`);
  }
  return lines.join('\n');
}

// Child processes (conntrack, iptables-save, ip) need the capability too: root gets it back at execve,
// anyone else only through the ambient set.
async function checkPrivileges(
  procRoot: string,
  getuid: (() => number) | undefined,
  netns: string | undefined,
): Promise<PreflightCheck> {
  const id = 'privileges';
  const uid = getuid?.() ?? -1;
  const who = uid === 0 ? 'root' : `uid ${uid}`;
  const statusFile = join(procRoot, 'self', 'status');
  let status: string;
  try {
    status = await readFile(statusFile, 'utf8');
  } catch (err) {
    if (uid === 0)
      return { id, ok: true, fatal: true, message: `running as root (${statusFile} unreadable)` };
    return {
      id,
      ok: false,
      fatal: true,
      message: `not running as root (${who}) and ${statusFile} is unreadable (${errCode(err)}), so CAP_NET_ADMIN cannot be confirmed`,
      hint: 'run ctscope as root (sudo ctscope …)',
    };
  }
  const capEff = capField(status, 'CapEff');
  const capAmb = capField(status, 'CapAmb');
  const has = (set: bigint | undefined, bit: bigint) => set !== undefined && ((set >> bit) & 1n) === 1n;
  const effText = capEff === undefined ? 'no CapEff line' : `CapEff=${capEff.toString(16).padStart(16, '0')}`;
  const capHint =
    'run ctscope as root, or grant the capability: Docker `--cap-add NET_ADMIN`, Kubernetes `securityContext.capabilities.add: [NET_ADMIN]`, systemd `AmbientCapabilities=CAP_NET_ADMIN`';

  if (capEff === undefined) {
    if (uid === 0)
      return { id, ok: true, fatal: true, message: `running as root (${effText} in ${statusFile})` };
    return {
      id,
      ok: false,
      fatal: true,
      message: `not running as root (${who}) and ${statusFile} has no CapEff line`,
      hint: capHint,
    };
  }
  if (!has(capEff, CAP_NET_ADMIN)) {
    return {
      id,
      ok: false,
      fatal: true,
      message:
        uid === 0
          ? `running as root but CAP_NET_ADMIN is not in the effective capability set (${effText}): conntrack and iptables/nft requests will be refused (container without NET_ADMIN?)`
          : `not running as root (${who}) and CAP_NET_ADMIN is not in the effective capability set (${effText})`,
      hint: capHint,
    };
  }
  if (uid !== 0 && capAmb !== undefined && !has(capAmb, CAP_NET_ADMIN)) {
    return {
      id,
      ok: false,
      fatal: true,
      message: `${who} has CAP_NET_ADMIN but not as an ambient capability, so conntrack/iptables-save/nft started by ctscope lose it`,
      hint: 'run as root, or start ctscope with the ambient capability: systemd `AmbientCapabilities=CAP_NET_ADMIN`, or `capsh --caps="cap_net_admin+eip cap_setpcap,cap_setuid,cap_setgid+ep" --keep=1 --user=USER --addamb=cap_net_admin -- -c "ctscope …"`',
    };
  }
  if (netns !== undefined && uid !== 0 && !has(capEff, CAP_SYS_ADMIN)) {
    return {
      id,
      ok: false,
      fatal: true,
      message: `${who} lacks CAP_SYS_ADMIN, which \`ip netns exec ${netns}\` needs to enter the namespace`,
      hint: 'run ctscope as root when --netns is used',
    };
  }
  return {
    id,
    ok: true,
    fatal: true,
    message: uid === 0 ? `running as root with CAP_NET_ADMIN` : `${who} has CAP_NET_ADMIN`,
  };
}

function capField(status: string, name: string): bigint | undefined {
  const m = new RegExp(`^${name}:\\s*([0-9a-fA-F]+)\\s*$`, 'm').exec(status);
  return m ? BigInt(`0x${m[1]}`) : undefined;
}

async function checkNetns(name: string): Promise<PreflightCheck> {
  const id = 'netns';
  let out: string;
  try {
    out = (await runNodeCommand('ip', ['netns', 'list'], { timeoutMs: COMMAND_TIMEOUT_MS })).stdout;
  } catch (err) {
    return {
      id,
      ok: false,
      fatal: true,
      message: `cannot check that network namespace "${name}" exists: ${errText(err)}`,
      hint: 'install iproute2 (Debian package iproute2), which provides `ip netns`',
    };
  }
  // Lines are `NAME` or `NAME (id: N)`.
  const names = out
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n !== '');
  if (names.includes(name))
    return { id, ok: true, fatal: true, message: `network namespace "${name}" exists` };
  return {
    id,
    ok: false,
    fatal: true,
    message: `network namespace "${name}" does not exist (${names.length > 0 ? `existing: ${names.join(', ')}` : 'there are no named network namespaces'})`,
    hint:
      names.length > 0
        ? `use one of ${names.join(', ')}, or create it with \`ip netns add ${name}\``
        : `create it with \`ip netns add ${name}\`, or run without a netns to watch the host`,
  };
}

async function checkBinary(
  tool: Tool,
  natMode: PreflightOptions['natMode'],
  inNetns: boolean,
): Promise<PreflightCheck> {
  const id = `binary:${tool.name}`;
  const fatal = tool.name === 'conntrack' || tool.natMode === natMode || (tool.name === 'ip' && inNetns);
  const path = process.env.PATH ?? '';
  const found = await findOnPath(tool.name, path);
  if (found) return { id, ok: true, fatal, message: `${tool.name} found at ${found}` };
  let consequence = `needed for ${tool.purpose}`;
  if (tool.natMode && natMode === 'auto') consequence += '; auto mode will not be able to use it';
  else if (tool.natMode && !fatal) consequence += ` (not needed for natMode ${natMode})`;
  else if (tool.name === 'ip' && !inNetns) consequence += ' (not needed without a netns)';
  return {
    id,
    ok: false,
    fatal,
    message: `${tool.name} not found on PATH (${path || 'PATH is empty'}): ${consequence}`,
    hint: `install the Debian package ${tool.pkg} (\`apt-get install ${tool.pkg}\`); if it is installed, add its directory (often /usr/sbin) to PATH`,
  };
}

/** First executable regular file named `name` in a PATH string, like a shell's lookup. */
export async function findOnPath(name: string, path: string): Promise<string | undefined> {
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue; // an empty entry means the cwd: never trust that for root tools
    const file = join(dir, name);
    try {
      if (!(await stat(file)).isFile()) continue;
      await access(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

// Without SCHED_FIFO a busy node starves the `conntrack -E` listener and the kernel drops events (ENOBUFS).
async function checkListenerPriority(fifo: () => Promise<boolean>): Promise<PreflightCheck> {
  const id = 'listener-priority';
  if (await fifo().catch(() => false)) {
    return {
      id,
      ok: true,
      fatal: false,
      message: `the conntrack -E listener runs under SCHED_FIFO ${LISTENER_FIFO_PRIORITY} (chrt -f ${LISTENER_FIFO_PRIORITY})`,
    };
  }
  return {
    id,
    ok: false,
    fatal: false,
    message: `${NOT_PRIORITISED} (SCHED_FIFO not allowed: \`chrt -f ${LISTENER_FIFO_PRIORITY}\` failed; ctscope falls back to the best nice level it may set)`,
    hint: 'grant CAP_SYS_NICE: Kubernetes `securityContext.capabilities.add: [SYS_NICE]`, Docker `--cap-add SYS_NICE`, systemd `AmbientCapabilities=CAP_SYS_NICE`; install util-linux for `chrt`',
  };
}

async function checkEvents(procRoot: string, netns: string | undefined): Promise<PreflightCheck> {
  const id = 'nf_conntrack_events';
  const where = netns ? ` in network namespace "${netns}"` : '';
  const exec = netns ? `ip netns exec ${netns} ` : '';
  const file = netns ? `/proc/${EVENTS_SYSCTL}` : join(procRoot, EVENTS_SYSCTL);
  const missing: PreflightCheck = {
    id,
    ok: false,
    fatal: false,
    message: `${file} does not exist${where}: the nf_conntrack kernel module is not loaded, so there is no connection tracking to watch`,
    hint: netns
      ? 'modprobe nf_conntrack (on the host: kernel modules are node-wide)'
      : 'modprobe nf_conntrack',
  };
  let text: string;
  try {
    text = netns
      ? (await runNodeCommand('cat', [file], { netns, timeoutMs: COMMAND_TIMEOUT_MS })).stdout
      : await readFile(file, 'utf8');
  } catch (err) {
    if (errCode(err) === 'ENOENT') return missing;
    if (err instanceof NodeCommandError && /No such file or directory/.test(err.result?.stderr ?? ''))
      return missing;
    return {
      id,
      ok: false,
      fatal: false,
      message: `cannot read ${file}${where}: ${errText(err)}`,
      hint: 'run ctscope as root',
    };
  }
  const value = text.trim();
  if (value === '1') return { id, ok: true, fatal: false, message: `nf_conntrack_events is 1${where}` };
  // 2 is the newer kernels' default: events are generated once a listener such as `conntrack -E` subscribes.
  // But entries created before the listener existed never report anything, not even their DESTROY: they then
  // linger until a full dump retires them. Say so, and how to get 1.
  if (value === '2')
    return {
      id,
      ok: false,
      fatal: false,
      message: `nf_conntrack_events is 2 (events only for entries created while a listener runs)${where}: entries that predate ctscope report no DESTROY and are retired only by full dumps`,
      hint: `${exec}sysctl -w net.netfilter.nf_conntrack_events=1`,
    };
  return {
    id,
    ok: false,
    fatal: false,
    message: `nf_conntrack_events is ${JSON.stringify(value)}${where}, not 1: the kernel sends no conntrack events, so new and destroyed entries are only seen by periodic dumps`,
    hint: `${exec}sysctl -w net.netfilter.nf_conntrack_events=1`,
  };
}

function errCode(err: unknown): string {
  return (err as NodeJS.ErrnoException)?.code ?? errText(err);
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
