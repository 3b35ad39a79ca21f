/**
 * Renders kube-proxy's iptables-mode `nat` table (pure).
 *
 * The output is an iptables-restore file in exactly the form `iptables-save -t nat` prints it back (builtin
 * chains first, then the KUBE-* chains sorted, rules in iptables-save's match order), so the rules the lab
 * loads and the snapshots ctscope reads are the same text. It follows kube-proxy's pkg/proxy/iptables layout
 * as captured in the seed incident (shared/test/fixtures/seed-incident/nat-before.txt):
 *   KUBE-SERVICES -d VIP/32 -p udp --dport P → KUBE-SVC-<hash> → (statistic random) KUBE-SEP-<hash> → DNAT,
 * KUBE-MARK-MASQ / KUBE-POSTROUTING, and the flannel pod-CIDR MASQUERADE. Chain names use kube-proxy's
 * hashes (base32 of sha256, first 16 characters), so a service gets the same chain names as in a cluster.
 */
import { createHash } from 'node:crypto';

export interface KubeEndpoint {
  ip: string;
  port: number;
}

export interface KubeService {
  namespace: string;
  name: string;
  portName: string;
  proto: 'udp' | 'tcp';
  clusterIp: string;
  port: number;
  /** Endpoints in kube-proxy's order; a service without endpoints gets no nat rules. */
  endpoints: KubeEndpoint[];
}

export interface KubeProxyNatOptions {
  /** Pod network masqueraded when leaving it (flannel's rule), e.g. 10.42.0.0/16. */
  podCidr: string;
  /** 6 renders the `ip6tables-save -t nat` form (/128 hosts, `[ip]:port` endpoints). Default 4. */
  family?: 4 | 6;
}

/** `ip:port`, or `[ip]:port` for IPv6, as kube-proxy's endpoint strings (net.JoinHostPort). */
export function joinHostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function base32(bytes: Uint8Array): string {
  let out = '';
  let value = 0;
  let bits = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

function hash16(text: string): string {
  return base32(createHash('sha256').update(text).digest()).slice(0, 16);
}

/** `namespace/name:portName`, kube-proxy's ServicePortName string. */
export function servicePortName(s: Pick<KubeService, 'namespace' | 'name' | 'portName'>): string {
  return `${s.namespace}/${s.name}:${s.portName}`;
}

/** kube-proxy's `KUBE-SVC-` chain name (servicePortChainName). */
export function serviceChainName(spn: string, proto: string): string {
  return `KUBE-SVC-${hash16(spn + proto)}`;
}

/** kube-proxy's `KUBE-SEP-` chain name (servicePortEndpointChainName). */
export function endpointChainName(spn: string, proto: string, endpoint: KubeEndpoint): string {
  return `KUBE-SEP-${hash16(`${spn}${proto}${joinHostPort(endpoint.ip, endpoint.port)}`)}`;
}

/**
 * The `--probability` iptables-save prints for endpoint `i` of `n`: kube-proxy asks for 1/(n-i), xt_statistic
 * stores it as a fraction of 2^31 and prints it back with 11 decimals (0.5 → 0.50000000000).
 */
export function statisticProbability(n: number, i: number): string {
  const stored = Math.round((1 / (n - i)) * 0x80000000);
  return (stored / 0x80000000).toFixed(11);
}

const BUILTIN = ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'] as const;

/**
 * The nat table for these services, as an iptables-restore file (replaces the whole nat table). For IPv6 pass
 * the services' IPv6 ClusterIPs and endpoints (kube-proxy runs one proxier per family with the same chain names).
 */
export function renderKubeProxyNat(services: readonly KubeService[], opts: KubeProxyNatOptions): string {
  const host = opts.family === 6 ? '/128' : '/32';
  const chains = new Map<string, string[]>();
  const rules = (chain: string): string[] => {
    let r = chains.get(chain);
    if (!r) {
      r = [];
      chains.set(chain, r);
    }
    return r;
  };
  for (const c of BUILTIN) rules(c);
  for (const c of ['KUBE-MARK-MASQ', 'KUBE-NODEPORTS', 'KUBE-POSTROUTING', 'KUBE-SERVICES']) rules(c);

  rules('PREROUTING').push('-m comment --comment "kubernetes service portals" -j KUBE-SERVICES');
  rules('OUTPUT').push('-m comment --comment "kubernetes service portals" -j KUBE-SERVICES');
  rules('POSTROUTING').push(
    '-m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
    `-s ${opts.podCidr} ! -d ${opts.podCidr} -m comment --comment "flanneld masq" -j MASQUERADE --random-fully`,
  );
  rules('KUBE-MARK-MASQ').push('-j MARK --set-xmark 0x4000/0x4000');
  rules('KUBE-POSTROUTING').push(
    '-m mark ! --mark 0x4000/0x4000 -j RETURN',
    '-j MARK --set-xmark 0x4000/0x0',
    '-m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
  );

  const sorted = [...services].sort((a, b) =>
    cmp(servicePortName(a) + a.proto, servicePortName(b) + b.proto),
  );
  for (const s of sorted) {
    if (s.endpoints.length === 0) continue;
    const spn = servicePortName(s);
    const p = s.proto;
    const svc = serviceChainName(spn, p);
    rules('KUBE-SERVICES').push(
      `-d ${s.clusterIp}${host} -p ${p} -m comment --comment "${spn} cluster IP" -m ${p} --dport ${s.port} -j ${svc}`,
    );
    const svcRules = rules(svc);
    s.endpoints.forEach((e, i) => {
      const sep = endpointChainName(spn, p, e);
      const last = i === s.endpoints.length - 1;
      const stat = last
        ? ''
        : ` -m statistic --mode random --probability ${statisticProbability(s.endpoints.length, i)}`;
      const ep = joinHostPort(e.ip, e.port);
      svcRules.push(`-m comment --comment "${spn} -> ${ep}"${stat} -j ${sep}`);
      rules(sep).push(
        `-s ${e.ip}${host} -m comment --comment "${spn}" -j KUBE-MARK-MASQ`,
        `-p ${p} -m comment --comment "${spn}" -m ${p} -j DNAT --to-destination ${ep}`,
      );
    });
  }

  const user = [...chains.keys()].filter((c) => !(BUILTIN as readonly string[]).includes(c)).sort(cmp);
  const out = ['*nat'];
  for (const c of BUILTIN) out.push(`:${c} ACCEPT [0:0]`);
  for (const c of user) out.push(`:${c} - [0:0]`);
  for (const c of [...BUILTIN, ...user]) for (const r of chains.get(c) ?? []) out.push(`-A ${c} ${r}`);
  out.push('COMMIT', '');
  return out.join('\n');
}

/** An iptables-save dump without its `#` comment lines (the timestamps), for comparing rule sets. */
export function withoutSaveComments(text: string): string {
  return text
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('\n');
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
