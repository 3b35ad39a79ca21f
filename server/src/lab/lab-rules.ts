/** The lab's services as kube-proxy would see them right now, and loading them into the node namespace. */
import { type KubeService, renderKubeProxyNat } from './kube-proxy-rules.js';
import { restoreNat } from './lab-netns.js';
import type { LabState } from './lab-state.js';
import { POD_CIDR } from './lab-topology.js';

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

/** The nat table the lab's node should have now. */
export function labNatRules(state: Pick<LabState, 'topology' | 'podIps' | 'servicesWithoutRules'>): string {
  return renderKubeProxyNat(labKubeServices(state), { podCidr: POD_CIDR });
}

/** Load the current rules into the node namespace (one atomic iptables-restore of the nat table). */
export async function applyLabRules(state: LabState): Promise<void> {
  await restoreNat(state.topology.node, state.iptables, labNatRules(state));
}
