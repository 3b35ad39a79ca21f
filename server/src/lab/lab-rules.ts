/** The lab's services as kube-proxy would see them right now, and loading them into the node namespace. */
import { type KubeService, renderKubeProxyNat } from './kube-proxy-rules.js';
import { restoreNat } from './lab-netns.js';
import type { LabState } from './lab-state.js';
import { findApp, POD_CIDR } from './lab-topology.js';

/** Services with their current endpoints (pod addresses), minus those whose rules are removed. */
export function labKubeServices(
  state: Pick<LabState, 'topology' | 'podIps' | 'servicesWithoutRules'>,
): KubeService[] {
  const { topology } = state;
  return topology.services
    .filter((s) => !state.servicesWithoutRules.includes(s.key))
    .map((s) => ({
      namespace: s.namespace,
      name: s.name,
      portName: s.portName,
      proto: s.proto,
      clusterIp: s.clusterIp,
      port: s.port,
      endpoints: topology.pods
        .filter((p) => p.service === s.key)
        .map((p) => ({ ip: state.podIps[p.key] ?? p.ip, port: p.port })),
    }));
}

type RulesState = Pick<LabState, 'topology' | 'podIps' | 'servicesWithoutRules' | 'dnatBypass'>;

const PORTALS = '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES';

/** The nat table the lab's node should have now. */
export function labNatRules(state: RulesState): string {
  const rules = renderKubeProxyNat(labKubeServices(state), { podCidr: POD_CIDR });
  const bypass = dnatBypassRules(state);
  return bypass.length ? rules.replace(PORTALS, [...bypass, PORTALS].join('\n')) : rules;
}

/**
 * `lab bypass-dnat`: a rule ahead of kube-proxy's portal jump that lets each fixed-port client of the service
 * skip DNAT (as a stray rule from another agent might). The service's own rules are intact, so ctscope judges
 * its entries `no-dnat`, yet every entry the client re-creates is un-NATed again: deleting cannot help.
 */
export function dnatBypassRules(state: RulesState): string[] {
  const out: string[] = [];
  for (const key of state.dnatBypass ?? []) {
    const svc = state.topology.services.find((s) => s.key === key);
    if (!svc) continue;
    for (const c of state.topology.clients) {
      if (c.service !== key || c.mode !== 'fixed' || c.sport === undefined) continue;
      const src = findApp(state.topology, c.app).ip;
      out.push(
        `-A PREROUTING -s ${src}/32 -d ${svc.clusterIp}/32 -p ${svc.proto} -m comment --comment "ctscope lab bypass-dnat" -m ${svc.proto} --sport ${c.sport} --dport ${svc.port} -j RETURN`,
      );
    }
  }
  return out;
}

/** Load the current rules into the node namespace (one atomic iptables-restore of the nat table). */
export async function applyLabRules(state: LabState): Promise<void> {
  await restoreNat(state.topology.node, state.iptables, labNatRules(state));
}
