// The NAT snapshot both benchmarks classify against: a DNS service with two endpoints, kube-proxy layout.
import { parseIptablesSave } from '@ctscope/shared';

export const NAT_TEXT = `*nat
:KUBE-SERVICES - [0:0]
:KUBE-SVC-DNS - [0:0]
:KUBE-SEP-A - [0:0]
:KUBE-SEP-B - [0:0]
-A KUBE-SERVICES -d 10.43.0.10/32 -p udp -m comment --comment "kube-system/kube-dns:dns cluster IP" -m udp --dport 53 -j KUBE-SVC-DNS
-A KUBE-SVC-DNS -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-A
-A KUBE-SVC-DNS -j KUBE-SEP-B
-A KUBE-SEP-A -p udp -m udp -j DNAT --to-destination 10.42.0.5:53
-A KUBE-SEP-B -p udp -m udp -j DNAT --to-destination 10.42.0.6:53
COMMIT
`;

/** The parsed snapshot; throws if it does not parse as intended, so a benchmark never measures an empty one. */
export function benchNat() {
  const snapshot = parseIptablesSave(NAT_TEXT);
  if (snapshot.frontends.length !== 1 || snapshot.frontends[0].endpoints.length !== 2) {
    throw new Error('bench NAT snapshot did not parse as expected');
  }
  return snapshot;
}
