/** The lab's services as kube-proxy would see them right now, per address family, and loading them into the node. */
import { type KubeService, renderKubeProxyNat } from './kube-proxy-rules.js';
import { restoreNat } from './lab-netns.js';
import type { LabState } from './lab-state.js';
import { POD_CIDR, POD_CIDR6 } from './lab-topology.js';

type RulesState = Pick<LabState, 'topology' | 'podIps' | 'servicesWithoutRules'>;

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

/** The nat table (ip6tables' with family 6) the lab's node should have now. */
export function labNatRules(state: RulesState, family: 4 | 6 = 4): string {
  return renderKubeProxyNat(labKubeServices(state, family), {
    podCidr: family === 6 ? POD_CIDR6 : POD_CIDR,
    family,
  });
}

/** Load the current rules into the node namespace: one atomic restore of each family's nat table. */
export async function applyLabRules(state: LabState): Promise<void> {
  await Promise.all(
    ([4, 6] as const).map((f) => restoreNat(state.topology.node, state.iptables, labNatRules(state, f), f)),
  );
}
