/**
 * The lab's fixed shape: namespace names, interface names and addresses (pure, no I/O).
 *
 * One node namespace plays a single-node k3s host: kube-proxy-style NAT rules, ip_forward, and a routed
 * /32 veth per pod (like the CNI ptp plugin: every host-side veth carries the gateway 10.42.0.1/32, every
 * pod has 10.42.0.x/32 with `default via 10.42.0.1 onlink`). Routing every pod-to-pod packet through the
 * node's IP stack means DNATed replies are always un-NATed there, with no bridge and no br_netfilter.
 * The node's uplink `eth0` is a veth into an "upstream" namespace (`<name>-wan`) with no addresses: the
 * node's default gateway has a permanent neighbour entry with a MAC nobody owns, so packets routed out of
 * it (service traffic while the rules are missing) are masqueraded, confirmed in conntrack, and then
 * silently dropped by the upstream end. Lab traffic never leaves the lab's namespaces. (A dummy device
 * would be simpler, but not every kernel has one.)
 *
 * Dual-stack like a k3s cluster with `--cluster-cidr 10.42.0.0/16,fd00:42::/56`: every pod and app also has an
 * IPv6 /128 routed the same way (gateway fd00:42::1 on every host-side veth), and kube-dns has a second
 * ClusterIP fd00:43::a with ip6tables nat rules in the same kube-proxy layout.
 */

/** Pod network, as k3s/flannel's default. */
export const POD_CIDR = '10.42.0.0/16';
/** Gateway address carried by every host-side veth in the node namespace. */
export const POD_GATEWAY = '10.42.0.1';
/** Node address on the dummy uplink (the source MASQUERADE picks while the service rules are missing). */
export const NODE_IP = '172.20.0.2';
export const NODE_PREFIX = 24;
/** Default gateway behind the uplink; nothing answers there. */
export const NODE_GATEWAY = '172.20.0.1';
/** Link-layer address given to the gateway (a locally administered MAC no interface has). */
export const NODE_GATEWAY_MAC = '02:00:00:c7:0a:01';
/** IPv6 pod network (the second `--cluster-cidr`). */
export const POD_CIDR6 = 'fd00:42::/56';
/** IPv6 gateway carried by every host-side veth. */
export const POD_GATEWAY6 = 'fd00:42::1';
/** IPv6 node address on the uplink. */
export const NODE_IP6 = 'fd00:20::2';
export const NODE_PREFIX6 = 64;
/** IPv6 default gateway behind the uplink (same unowned MAC). */
export const NODE_GATEWAY6 = 'fd00:20::1';
/** Replacement pod addresses (`lab replace-endpoint`) are taken from here upwards. */
export const REPLACEMENT_IP_BASE = 101;

/** A UDP service with a ClusterIP, rendered as kube-proxy would. */
export interface LabService {
  /** Short key used on the command line (`--service dns`). */
  key: string;
  namespace: string;
  name: string;
  portName: string;
  proto: 'udp';
  clusterIp: string;
  /** IPv6 ClusterIP of a dual-stack service. */
  clusterIp6?: string;
  port: number;
}

/** A namespace with one routed veth to the node. */
export interface LabHost {
  /** Short key, e.g. `dns-a`. */
  key: string;
  /** Network namespace name. */
  netns: string;
  /** Interface name on the node side (≤ 15 chars). */
  hostIf: string;
  /** Initial address. */
  ip: string;
  /** IPv6 address (fixed; `lab replace-endpoint` only renumbers IPv4). */
  ip6?: string;
}

/** A pod that serves one service (a UDP responder). */
export interface LabPod extends LabHost {
  service: string;
  /** Port the responder listens on (the service's target port). */
  port: number;
}

/** A client process inside an app namespace. */
export interface LabClient {
  /** Unique key, e.g. `app-a-dns-monitor`. */
  key: string;
  /** Key of the app namespace it runs in. */
  app: string;
  service: string;
  /** `fixed`: one socket, one source port, forever (like Netty's DNS monitor). `random`: a fresh port per query. */
  mode: 'fixed' | 'random';
  sport?: number;
  /** Address family it talks to the service over (default 4). */
  family?: 4 | 6;
}

export interface LabTopology {
  name: string;
  /** The node namespace (ctscope serve watches it with `--netns`). */
  node: string;
  /** The upstream namespace behind the node's uplink; it drops whatever it receives. */
  upstream: string;
  services: LabService[];
  pods: LabPod[];
  apps: LabHost[];
  clients: LabClient[];
}

const NAME = /^[a-z][a-z0-9-]{0,31}$/;

/** Why a lab name is unusable, or undefined when it is fine. */
export function labNameProblem(name: string): string | undefined {
  if (!NAME.test(name)) {
    return `lab name "${name}" must be 1-32 characters: lowercase letters, digits and "-", starting with a letter`;
  }
  if (name.endsWith('-')) return `lab name "${name}" must not end with "-"`;
  return undefined;
}

/** The lab's topology for a name. Throws on an invalid name. */
export function labTopology(name: string): LabTopology {
  const problem = labNameProblem(name);
  if (problem) throw new Error(problem);
  const ns = (suffix: string) => `${name}-${suffix}`;
  const host = (key: string, ip: string, ip6: string): LabHost => ({
    key,
    netns: ns(key),
    hostIf: `veth-${key}`,
    ip,
    ip6,
  });
  return {
    name,
    node: ns('node'),
    upstream: ns('wan'),
    services: [
      {
        key: 'dns',
        namespace: 'kube-system',
        name: 'kube-dns',
        portName: 'dns',
        proto: 'udp',
        clusterIp: '10.43.0.10',
        clusterIp6: 'fd00:43::a',
        port: 53,
      },
      {
        key: 'echo',
        namespace: 'default',
        name: 'udp-echo',
        portName: 'echo',
        proto: 'udp',
        clusterIp: '10.43.0.20',
        port: 7,
      },
    ],
    pods: [
      { ...host('dns-a', '10.42.0.11', 'fd00:42::11'), service: 'dns', port: 53 },
      { ...host('dns-b', '10.42.0.12', 'fd00:42::12'), service: 'dns', port: 53 },
      { ...host('echo-a', '10.42.0.21', 'fd00:42::21'), service: 'echo', port: 7 },
    ],
    apps: [host('app-a', '10.42.0.33', 'fd00:42::33'), host('app-b', '10.42.0.34', 'fd00:42::34')],
    clients: [
      { key: 'app-a-dns-monitor', app: 'app-a', service: 'dns', mode: 'fixed', sport: 52001 },
      { key: 'app-a-dns-lookups', app: 'app-a', service: 'dns', mode: 'random' },
      { key: 'app-b-dns-monitor', app: 'app-b', service: 'dns', mode: 'fixed', sport: 52001 },
      { key: 'app-b-echo-monitor', app: 'app-b', service: 'echo', mode: 'fixed', sport: 52002 },
      { key: 'app-b-echo-lookups', app: 'app-b', service: 'echo', mode: 'random' },
      { key: 'app-a-dns6-monitor', app: 'app-a', service: 'dns', mode: 'fixed', sport: 52001, family: 6 },
      { key: 'app-b-dns6-lookups', app: 'app-b', service: 'dns', mode: 'random', family: 6 },
    ],
  };
}

/** Every namespace of a lab, node first. */
export function labNamespaces(t: LabTopology): string[] {
  return [t.node, t.upstream, ...t.pods.map((p) => p.netns), ...t.apps.map((a) => a.netns)];
}

export function findService(t: LabTopology, key: string): LabService {
  const s = t.services.find((x) => x.key === key);
  if (!s) throw new Error(`unknown service "${key}" (known: ${t.services.map((x) => x.key).join(', ')})`);
  return s;
}

export function findPod(t: LabTopology, key: string): LabPod {
  const p = t.pods.find((x) => x.key === key);
  if (!p) throw new Error(`unknown pod "${key}" (known: ${t.pods.map((x) => x.key).join(', ')})`);
  return p;
}

export function findApp(t: LabTopology, key: string): LabHost {
  const a = t.apps.find((x) => x.key === key);
  if (!a) throw new Error(`unknown app namespace "${key}"`);
  return a;
}

/** Where a client sends from and to: its app's address and the service's ClusterIP of its family. */
export function clientEndpoints(
  t: LabTopology,
  c: LabClient,
): { family: 4 | 6; src: string; vip: string; port: number } {
  const app = findApp(t, c.app);
  const svc = findService(t, c.service);
  const family = c.family ?? 4;
  const src = family === 6 ? app.ip6 : app.ip;
  const vip = family === 6 ? svc.clusterIp6 : svc.clusterIp;
  if (src === undefined || vip === undefined)
    throw new Error(`client ${c.key}: ${c.app} or ${c.service} has no IPv${family} address`);
  return { family, src, vip, port: svc.port };
}

/** The first replacement address not in use. */
export function nextPodIp(inUse: Iterable<string>): string {
  const used = new Set(inUse);
  for (let i = REPLACEMENT_IP_BASE; i < 255; i++) {
    const ip = `10.42.0.${i}`;
    if (!used.has(ip)) return ip;
  }
  throw new Error('no free pod address left in 10.42.0.101-254');
}
