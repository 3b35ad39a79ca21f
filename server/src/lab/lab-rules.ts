/** The lab's services as kube-proxy would see them right now, per address family, and loading them into the node. */
import { type KubeService, renderKubeProxyNat } from './kube-proxy-rules.js';
import { restoreNat } from './lab-netns.js';
import type { LabState } from './lab-state.js';
import { findApp, POD_CIDR, POD_CIDR6 } from './lab-topology.js';

type RulesState = Pick<LabState, 'topology' | 'podIps' | 'servicesWithoutRules' | 'dnatBypass'>;

/**
 * Services of one family with their current endpoints (pod addresses), minus those whose rules are removed.
 * IPv6 lists only dual-stack services, with the pods' IPv6 addresses.
 */
export function labKubeServices(state: RulesState, family: 4 | 6 = 4): KubeService[] {
  const { topology } = state;
  const out: KubeService[] = [];
  for (const s of topology.services) {
    if (state.servicesWithoutRules.includes(s.key)) continue;
    const clusterIp = family === 6 ? s.clusterIp6 : s.clusterIp;
    if (clusterIp === undefined) continue;
    const endpoints = topology.pods
      .filter((p) => p.service === s.key)
      .flatMap((p) => {
        const ip = family === 6 ? p.ip6 : (state.podIps[p.key] ?? p.ip);
        return ip === undefined ? [] : [{ ip, port: p.port }];
      });
    out.push({
      namespace: s.namespace,
      name: s.name,
      portName: s.portName,
      proto: s.proto,
      clusterIp,
      port: s.port,
      endpoints,
    });
  }
  return out;
}

const PORTALS = '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES';

/** The nat table (ip6tables' with family 6) the lab's node should have now, with any bypass ahead of the portals. */
export function labNatRules(state: RulesState, family: 4 | 6 = 4): string {
  const rules = renderKubeProxyNat(labKubeServices(state, family), {
    podCidr: family === 6 ? POD_CIDR6 : POD_CIDR,
    family,
  });
  const bypass = dnatBypassRules(state, family);
  return bypass.length ? rules.replace(PORTALS, [...bypass, PORTALS].join('\n')) : rules;
}

/**
 * `lab bypass-dnat`: a rule ahead of kube-proxy's portal jump that lets each fixed-port client of the service
 * skip DNAT (as a stray rule from another agent might). The service's own rules are intact, so ctscope judges
 * its entries `no-dnat`, yet every entry the client re-creates is un-NATed again: deleting cannot help.
 * Each family's table gets the rules of that family's clients (IPv6 clients of a dual-stack service in ip6tables).
 */
export function dnatBypassRules(state: RulesState, family: 4 | 6 = 4): string[] {
  const out: string[] = [];
  const host = family === 6 ? '/128' : '/32';
  for (const key of state.dnatBypass ?? []) {
    const svc = state.topology.services.find((s) => s.key === key);
    if (!svc) continue;
    const vip = family === 6 ? svc.clusterIp6 : svc.clusterIp;
    if (vip === undefined) continue;
    for (const c of state.topology.clients) {
      if (c.service !== key || c.mode !== 'fixed' || c.sport === undefined || (c.family ?? 4) !== family)
        continue;
      const app = findApp(state.topology, c.app);
      const src = family === 6 ? app.ip6 : app.ip;
      if (src === undefined) continue;
      out.push(
        `-A PREROUTING -s ${src}${host} -d ${vip}${host} -p ${svc.proto} -m comment --comment "ctscope lab bypass-dnat" -m ${svc.proto} --sport ${c.sport} --dport ${svc.port} -j RETURN`,
      );
    }
  }
  return out;
}

/** Load the current rules into the node namespace: one atomic restore of each family's nat table. */
export async function applyLabRules(state: LabState): Promise<void> {
  await Promise.all(
    ([4, 6] as const).map((f) => restoreNat(state.topology.node, state.iptables, labNatRules(state, f), f)),
  );
}
