/** Types for a node's NAT rule snapshot: service frontends and the endpoints they DNAT to. */

/** Where a frontend comes from. `nodeport` frontends match any local address (address is `*`). */
export type FrontendKind = 'cluster-ip' | 'external-ip' | 'load-balancer' | 'nodeport';

/** One endpoint a frontend DNATs to. */
export interface Endpoint {
  /** Endpoint IP (no brackets for IPv6). */
  ip: string;
  /** Endpoint port. */
  port: number;
}

/** A service frontend: address:port/proto that kube-proxy translates. */
export interface Frontend {
  /** Stable key: `${proto}|${ip}|${port}` with ip `*` for nodeports. */
  key: string;
  /** Frontend kind. */
  kind: FrontendKind;
  /** Virtual IP (no brackets), or `*` for nodeports. */
  ip: string;
  /** Frontend port. */
  port: number;
  /** Lower-case protocol: `udp`, `tcp`, `sctp`. */
  proto: string;
  /** Service name `ns/svc:port` when known (from comments or chain names), else the chain name. */
  service?: string;
  /** Current endpoints; empty means the service has no endpoints. */
  endpoints: Endpoint[];
  /** True when the rules say explicitly there are no endpoints (REJECT "has no endpoints", nft no-endpoint map). */
  noEndpointsRule?: boolean;
  /** Traffic to this frontend that kube-proxy drops on purpose, one entry per reason. */
  drops?: FrontendDrop[];
}

/**
 * A deliberate drop: what kube-proxy's rules do with traffic to a frontend that they will not DNAT.
 *
 * - `no-local-endpoints`: traffic policy Local (`externalTrafficPolicy` for external/LB/nodeport frontends,
 *   `internalTrafficPolicy` for cluster IPs) and no endpoint on this node. Sources in `exemptSources` (the pod
 *   CIDR short-circuit to the cluster-wide chain) are still DNATed, so they are not dropped.
 * - `source-ranges`: `loadBalancerSourceRanges`: only `allowedSources` reach the service; the rest is dropped.
 */
export interface FrontendDrop {
  kind: 'no-local-endpoints' | 'source-ranges';
  /** The rule that drops, as found in the dump (chain, table/map, match): where to look. */
  rule: string;
  /** `source-ranges`: CIDRs (or addresses) let through. */
  allowedSources?: string[];
  /** `no-local-endpoints`: CIDRs still DNATed despite the drop. */
  exemptSources?: string[];
}

/** Which rule source produced a snapshot. */
export type NatSourceKind = 'iptables' | 'nft' | 'ipvs';

/** A parsed NAT snapshot. */
export interface NatSnapshot {
  /** Rule source. */
  source: NatSourceKind;
  /** When it was taken, ms since the epoch, when known (iptables-save header, or the poller's clock). */
  takenAt?: number;
  /** Content hash over the normalised frontends (sha256 hex, first 16 chars). */
  hash: string;
  /** Frontends, sorted by key. */
  frontends: Frontend[];
  /** Non-fatal notes about rules that could not be followed. */
  warnings: string[];
}

/** What changed between two snapshots. */
export interface NatDiff {
  /** Frontends present only in the newer snapshot. */
  addedFrontends: Frontend[];
  /** Frontends present only in the older snapshot. */
  removedFrontends: Frontend[];
  /** Frontends in both whose endpoints changed. */
  changedFrontends: Array<{
    key: string;
    service?: string;
    addedEndpoints: Endpoint[];
    removedEndpoints: Endpoint[];
  }>;
}

/** The NAT snapshot as clients see it. */
export interface NatView {
  /** Rule source. */
  source: NatSourceKind;
  /** Content hash. */
  hash: string;
  /** When this version was first seen, ms. */
  since: number;
  /** Frontends and their endpoints. */
  frontends: Frontend[];
}

/** A change between two NAT versions. */
export interface NatChange {
  /** When it was seen, ms. */
  t: number;
  /** Hash before. */
  from: string;
  /** Hash after. */
  to: string;
  /** What changed. */
  diff: NatDiff;
}
