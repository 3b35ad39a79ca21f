/**
 * Parse `nft -j list table ip kube-proxy` (or `ip6`, or a whole `nft -j list ruleset`) in kube-proxy's
 * nftables layout (pkg/proxy/nftables/proxier.go) into a NAT snapshot. Endpoints come from following the
 * service-ips / service-nodeports verdicts through the chains to their `dnat` statements.
 */
import { frontendKey, makeSnapshot, normalizeIp } from './nat-snapshot.js';
import type { Endpoint, Frontend, FrontendKind, NatSnapshot } from './nat-types.js';

/** The parts of one kube-proxy table the parser needs. */
interface KubeProxyTable {
  label: string;
  chains: Map<string, unknown[][]>;
  maps: Map<string, unknown[]>;
  sets: Map<string, unknown[]>;
}

/** A map element's key parts plus the element comment (kube-proxy puts `ns/svc:port` there). */
interface Element {
  key: unknown[];
  comment?: string;
  verdict: unknown;
}

const PROTO_NUMBERS: Record<number, string> = { 6: 'tcp', 17: 'udp', 132: 'sctp' };
// `service-HASH-ns/svc/proto/port`, `endpoint-HASH-ns/svc/proto/port__ip/port`, etc. HASH is 8 base32 chars.
const CHAIN_NAME =
  /^(?:service|external|endpoint|firewall)-[A-Z2-7]{8}-([^/]+)\/([^/]+)\/([a-z]+)\/([^/]*?)(?:__.*)?$/;
const MASQUERADE_CHAIN = 'mark-for-masquerade';

/** Parse kube-proxy's nft JSON. Never throws: bad input gives an empty snapshot whose warnings say why. */
export function parseNftKubeProxy(jsonText: string, options?: { takenAt?: number }): NatSnapshot {
  const warnings: string[] = [];
  const takenAt = options?.takenAt;
  let root: unknown;
  try {
    root = JSON.parse(jsonText);
  } catch (err) {
    warnings.push(`not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
    return makeSnapshot('nft', [], warnings, takenAt);
  }
  const items = isRecord(root) ? root.nftables : undefined;
  if (!Array.isArray(items)) {
    warnings.push('JSON has no top-level "nftables" array (expected `nft -j list table ip kube-proxy`)');
    return makeSnapshot('nft', [], warnings, takenAt);
  }
  const tables = collectTables(items, warnings);
  if (tables.size === 0) warnings.push('no kube-proxy table found in the nft output');
  const frontends: Frontend[] = [];
  for (const table of tables.values()) frontends.push(...tableFrontends(table, warnings));
  return makeSnapshot('nft', frontends, warnings, takenAt);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// Group objects by family+table; when a `kube-proxy` table is present, other tables are ignored.
function collectTables(items: unknown[], warnings: string[]): Map<string, KubeProxyTable> {
  const all = new Map<string, KubeProxyTable>();
  const get = (o: Record<string, unknown>): KubeProxyTable => {
    const label = `${String(o.family)} ${String(o.table)}`;
    let t = all.get(label);
    if (!t) {
      t = { label, chains: new Map(), maps: new Map(), sets: new Map() };
      all.set(label, t);
    }
    return t;
  };
  for (const item of items) {
    if (!isRecord(item)) continue;
    const { chain, rule, map, set } = item;
    if (isRecord(chain) && typeof chain.name === 'string') {
      const t = get(chain);
      if (!t.chains.has(chain.name)) t.chains.set(chain.name, []);
    } else if (isRecord(rule) && typeof rule.chain === 'string') {
      if (!Array.isArray(rule.expr)) {
        warnings.push(`rule ${String(rule.handle)} in ${rule.chain} has no expr array`);
        continue;
      }
      const t = get(rule);
      const list = t.chains.get(rule.chain);
      if (list) list.push(rule.expr);
      else t.chains.set(rule.chain, [rule.expr]);
    } else if (isRecord(map) && typeof map.name === 'string') {
      get(map).maps.set(map.name, Array.isArray(map.elem) ? map.elem : []);
    } else if (isRecord(set) && typeof set.name === 'string') {
      get(set).sets.set(set.name, Array.isArray(set.elem) ? set.elem : []);
    }
  }
  const kube = new Map([...all].filter(([label]) => label.endsWith(' kube-proxy')));
  return kube.size > 0 ? kube : all;
}

// Elements are `[key, verdict]`; a key with a comment is wrapped as `{"elem": {"val": …, "comment": …}}`.
function readElements(table: KubeProxyTable, name: string, warnings: string[]): Element[] {
  const raw = table.maps.get(name);
  if (raw === undefined) return [];
  const out: Element[] = [];
  for (const e of raw) {
    if (!Array.isArray(e) || e.length !== 2) {
      warnings.push(`${table.label}: unexpected element shape in map ${name}`);
      continue;
    }
    let key: unknown = e[0];
    let comment: string | undefined;
    if (isRecord(key) && isRecord(key.elem)) {
      if (typeof key.elem.comment === 'string') comment = key.elem.comment;
      key = key.elem.val;
    }
    const parts = isRecord(key) && Array.isArray(key.concat) ? key.concat : [key];
    const element: Element = { key: parts, verdict: e[1] };
    if (comment !== undefined) element.comment = comment;
    out.push(element);
  }
  return out;
}

function verdictTarget(v: unknown): string | undefined {
  if (!isRecord(v)) return undefined;
  for (const kind of ['goto', 'jump'] as const) {
    const t = v[kind];
    if (isRecord(t) && typeof t.target === 'string') return t.target;
  }
  return undefined;
}

function isRejectVerdict(v: unknown): boolean {
  return isRecord(v) && ('drop' in v || 'reject' in v);
}

function protoName(v: unknown): string | undefined {
  if (typeof v === 'string') return v.toLowerCase();
  if (typeof v === 'number') return PROTO_NUMBERS[v];
  return undefined;
}

function portNumber(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : Number.NaN;
  return Number.isInteger(n) && n > 0 && n <= 65535 ? n : undefined;
}

/** `ns/svc:port` from a kube-proxy chain name; undefined for truncated or foreign names. */
export function serviceFromNftChain(chain: string): string | undefined {
  const m = CHAIN_NAME.exec(chain);
  if (!m || chain.endsWith('...')) return undefined;
  return m[4] ? `${m[1]}/${m[2]}:${m[4]}` : `${m[1]}/${m[2]}`;
}

interface Reach {
  endpoints: Endpoint[];
  sawReject: boolean;
}

/** Every `dnat` reachable from `start` through jump/goto and inline verdict maps (numgen vmaps). */
function followChain(table: KubeProxyTable, start: string, warnings: string[]): Reach {
  const reach: Reach = { endpoints: [], sawReject: false };
  const visited = new Set<string>();
  const stack = [start];
  while (stack.length > 0) {
    const chain = stack.pop()!;
    if (visited.has(chain) || chain === MASQUERADE_CHAIN) continue;
    visited.add(chain);
    const rules = table.chains.get(chain);
    if (!rules) {
      warnings.push(`${table.label}: chain ${chain} is referenced but not listed`);
      continue;
    }
    const next: string[] = [];
    for (const expr of rules) {
      for (const stmt of expr) {
        if (!isRecord(stmt)) continue;
        const target = verdictTarget(stmt);
        if (target !== undefined) next.push(target);
        else if ('drop' in stmt || 'reject' in stmt) reach.sawReject = true;
        else if (isRecord(stmt.vmap)) next.push(...vmapTargets(stmt.vmap));
        else if ('dnat' in stmt) {
          const ep = dnatEndpoint(stmt.dnat);
          if (ep) reach.endpoints.push(ep);
          else warnings.push(`${table.label}: dnat in ${chain} has no literal address and port`);
        }
      }
    }
    for (let i = next.length - 1; i >= 0; i--) stack.push(next[i]!);
  }
  return reach;
}

// Only inline sets (`{ 0 : goto … }`) are followed; a named map reference is another frontend table.
function vmapTargets(vmap: Record<string, unknown>): string[] {
  const data = isRecord(vmap.data) ? vmap.data.set : undefined;
  if (!Array.isArray(data)) return [];
  const out: string[] = [];
  for (const pair of data) {
    const t = Array.isArray(pair) ? verdictTarget(pair[1]) : undefined;
    if (t !== undefined) out.push(t);
  }
  return out;
}

function dnatEndpoint(dnat: unknown): Endpoint | undefined {
  if (!isRecord(dnat) || typeof dnat.addr !== 'string') return undefined;
  const port = portNumber(dnat.port);
  return port === undefined ? undefined : { ip: normalizeIp(dnat.addr), port };
}

function setMembers(table: KubeProxyTable, name: string): Set<string> {
  const out = new Set<string>();
  for (const e of table.sets.get(name) ?? []) if (typeof e === 'string') out.add(normalizeIp(e));
  return out;
}

/**
 * Frontends of one kube-proxy table. Kind: an address in the `cluster-ips` set is a cluster IP; one in
 * `firewall-ips` is a load balancer; other `external-…` targets are external IPs. The rules cannot tell a
 * load-balancer IP without LoadBalancerSourceRanges from an external IP, so those read as external IPs.
 */
function tableFrontends(table: KubeProxyTable, warnings: string[]): Frontend[] {
  const out: Frontend[] = [];
  const clusterIps = setMembers(table, 'cluster-ips');
  const hasClusterIpSet = table.sets.has('cluster-ips');
  const firewalled = new Set<string>();
  for (const e of readElements(table, 'firewall-ips', warnings)) {
    const [ip, proto, port] = e.key;
    if (typeof ip === 'string') firewalled.add(`${normalizeIp(ip)}|${protoName(proto)}|${portNumber(port)}`);
  }
  const kindFor = (ip: string, proto: string, port: number, target: string | undefined): FrontendKind => {
    if (target?.startsWith('service-') || clusterIps.has(ip)) return 'cluster-ip';
    if (firewalled.has(`${ip}|${proto}|${port}`)) return 'load-balancer';
    // A no-endpoint element has no chain to tell by; without the cluster-ips set, assume the common case.
    if (target === undefined && !hasClusterIpSet) return 'cluster-ip';
    return 'external-ip';
  };

  if (!table.maps.has('service-ips'))
    warnings.push(`${table.label}: no service-ips map (not kube-proxy's table?)`);
  const exemptByKey = new Map<string, string[]>();
  const localDrops: Array<{ f: Frontend; rule: string }> = [];
  const mapSpecs = [
    { name: 'service-ips', withIp: true, noEndpoints: false },
    { name: 'service-nodeports', withIp: false, noEndpoints: false },
    { name: 'no-endpoint-services', withIp: true, noEndpoints: true },
    { name: 'no-endpoint-nodeports', withIp: false, noEndpoints: true },
  ];
  for (const spec of mapSpecs) {
    for (const el of readElements(table, spec.name, warnings)) {
      const parts = spec.withIp ? el.key : ['*', ...el.key];
      const [rawIp, rawProto, rawPort] = parts;
      const proto = protoName(rawProto);
      const port = portNumber(rawPort);
      if (parts.length !== 3 || typeof rawIp !== 'string' || proto === undefined || port === undefined) {
        warnings.push(
          `${table.label}: ${spec.name} element ${JSON.stringify(el.key)} is not addr . proto . port`,
        );
        continue;
      }
      const ip = rawIp === '*' ? '*' : normalizeIp(rawIp);
      const target = verdictTarget(el.verdict);
      // A plain `drop` in the no-endpoint maps is kube-proxy's "no local endpoints" verdict (traffic policy
      // Local); no endpoints at all is `goto reject-chain`.
      const localDrop = spec.noEndpoints && isRecord(el.verdict) && 'drop' in el.verdict;
      let reach: Reach;
      if (localDrop) reach = { endpoints: [], sawReject: false };
      else if (spec.noEndpoints) reach = { endpoints: [], sawReject: true };
      else if (target !== undefined) reach = followChain(table, target, warnings);
      else if (isRejectVerdict(el.verdict)) reach = { endpoints: [], sawReject: true };
      else {
        warnings.push(`${table.label}: ${spec.name} element ${ip} ${proto} ${port} has no goto/jump verdict`);
        continue;
      }
      const kind = ip === '*' ? 'nodeport' : kindFor(ip, proto, port, spec.noEndpoints ? undefined : target);
      const f: Frontend = {
        key: frontendKey(proto, ip, port),
        kind,
        ip,
        port,
        proto,
        endpoints: reach.endpoints,
      };
      let service = el.comment;
      if (!spec.noEndpoints && target !== undefined)
        service = serviceFromNftChain(target) ?? el.comment ?? target;
      if (service !== undefined) f.service = service;
      if (reach.endpoints.length === 0 && reach.sawReject) f.noEndpointsRule = true;
      if (!spec.noEndpoints && target !== undefined) {
        const exempt = shortCircuitSources(table, target);
        if (exempt.length > 0) exemptByKey.set(f.key, exempt);
      }
      if (localDrop) {
        const named = el.comment === undefined ? '' : ` "${el.comment}"`;
        localDrops.push({ f, rule: `${table.label} ${spec.name} element${named} : drop` });
      }
      out.push(f);
    }
  }
  for (const { f, rule } of localDrops) {
    const exempt = exemptByKey.get(f.key);
    f.drops = [{ kind: 'no-local-endpoints', rule, ...(exempt ? { exemptSources: exempt } : {}) }];
  }
  out.push(...firewallFrontends(table, kindFor, warnings));
  return out;
}

/** Frontends of `firewall-ips` elements with the source ranges their firewall chain lets through. */
function firewallFrontends(
  table: KubeProxyTable,
  kindFor: (ip: string, proto: string, port: number, target: string | undefined) => FrontendKind,
  warnings: string[],
): Frontend[] {
  const out: Frontend[] = [];
  for (const el of readElements(table, 'firewall-ips', warnings)) {
    const [rawIp, rawProto, rawPort] = el.key;
    const proto = protoName(rawProto);
    const port = portNumber(rawPort);
    const chain = verdictTarget(el.verdict);
    if (typeof rawIp !== 'string' || proto === undefined || port === undefined || chain === undefined) {
      warnings.push(
        `${table.label}: firewall-ips element ${JSON.stringify(el.key)} is not addr . proto . port : goto`,
      );
      continue;
    }
    const ip = normalizeIp(rawIp);
    const allowed: string[] = [];
    for (const expr of table.chains.get(chain) ?? []) {
      const drops = expr.some((st) => isRecord(st) && 'drop' in st);
      for (const st of expr) {
        const m = saddrMatch(st);
        if (drops && m?.op === '!=') allowed.push(...m.values);
      }
    }
    const f: Frontend = {
      key: frontendKey(proto, ip, port),
      kind: kindFor(ip, proto, port, undefined),
      ip,
      port,
      proto,
      endpoints: [],
      drops: [
        {
          kind: 'source-ranges',
          rule: `${table.label} firewall-ips -> ${chain}: ip saddr != { ${allowed.join(', ')} } drop`,
          allowedSources: allowed,
        },
      ],
    };
    const service = serviceFromNftChain(chain) ?? el.comment;
    if (service !== undefined) f.service = service;
    out.push(f);
  }
  return out;
}

/** `ip saddr OP value` / `ip6 saddr OP value` of one statement: the op and the addresses or prefixes. */
function saddrMatch(st: unknown): { op: string; values: string[] } | undefined {
  if (!isRecord(st) || !isRecord(st.match)) return undefined;
  const { op, left, right } = st.match;
  const payload = isRecord(left) ? left.payload : undefined;
  if (!isRecord(payload) || payload.field !== 'saddr') return undefined;
  const items = isRecord(right) && Array.isArray(right.set) ? right.set : [right];
  const values: string[] = [];
  for (const it of items) {
    if (typeof it === 'string') values.push(it);
    else if (isRecord(it) && isRecord(it.prefix) && typeof it.prefix.addr === 'string')
      values.push(`${it.prefix.addr}/${String(it.prefix.len)}`);
  }
  return { op: typeof op === 'string' ? op : '==', values };
}

/** Sources an external chain sends straight on to a `service-` chain (the pod-CIDR short-circuit). */
function shortCircuitSources(table: KubeProxyTable, chain: string): string[] {
  const out: string[] = [];
  for (const expr of table.chains.get(chain) ?? []) {
    const to = expr.map(verdictTarget).find((t) => t !== undefined);
    if (!to?.startsWith('service-')) continue;
    for (const st of expr) {
      const m = saddrMatch(st);
      if (m && m.op === '==') out.push(...m.values);
    }
  }
  return out;
}
