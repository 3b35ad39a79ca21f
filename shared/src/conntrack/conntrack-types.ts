/** Types for what `conntrack -E/-L/-S/-C` print, as parsed by the pure core. */

/** One direction of a conntrack entry. Ports exist for udp/tcp/sctp/dccp/udplite; ICMP has type/code/id. */
export interface Tuple {
  /** Source address as printed (IPv4 dotted or IPv6 text). */
  src: string;
  /** Destination address as printed. */
  dst: string;
  /** Source port, when the protocol has ports. */
  sport?: number;
  /** Destination port, when the protocol has ports. */
  dport?: number;
  /** ICMP/ICMPv6 type. */
  icmpType?: number;
  /** ICMP/ICMPv6 code. */
  icmpCode?: number;
  /** ICMP/ICMPv6 echo id. */
  icmpId?: number;
  /** `zone-orig=`/`zone-reply=` directional zone. */
  zone?: number;
  /** Per-direction `packets=` accounting counter. */
  packets?: number;
  /** Per-direction `bytes=` accounting counter. */
  bytes?: number;
}

/** Conntrack event type from the `[NEW]`/`[UPDATE]`/`[DESTROY]` tag. */
export type ConntrackEventType = 'NEW' | 'UPDATE' | 'DESTROY';

/** One flow line from `conntrack -E` (event set) or `conntrack -L` (event unset). */
export interface FlowRecord {
  kind: 'flow';
  /** Event tag; undefined for `-L` dump lines. */
  event?: ConntrackEventType;
  /** `-o timestamp` prefix, in seconds since the epoch (fractional). */
  timestamp?: number;
  /** `-o extended` l3 name, e.g. `ipv4`/`ipv6`. */
  l3?: string;
  /** `-o extended` l3 protocol number (2 = ipv4, 10 = ipv6). */
  l3num?: number;
  /** Layer 4 protocol name, e.g. `udp`. */
  proto: string;
  /** Layer 4 protocol number, e.g. 17. */
  protonum: number;
  /** Remaining timeout in seconds; DESTROY lines may lack it. */
  timeout?: number;
  /** TCP/SCTP/DCCP state, e.g. `ESTABLISHED`. */
  state?: string;
  /** Original-direction tuple. */
  orig: Tuple;
  /** Reply-direction tuple. */
  reply: Tuple;
  /** `[UNREPLIED]`: no packet seen in the reply direction yet. */
  unreplied: boolean;
  /** `[ASSURED]`. */
  assured: boolean;
  /** `[OFFLOAD]`. */
  offload?: boolean;
  /** `[HW_OFFLOAD]`. */
  hwOffload?: boolean;
  /** Global `zone=`. */
  zone?: number;
  /** `mark=`. */
  mark?: number;
  /** `secmark=`. */
  secmark?: number;
  /** `secctx=`. */
  secctx?: string;
  /** `use=` reference count. */
  use?: number;
  /** Kernel conntrack id (`id=`), unique while the entry lives. */
  id?: number;
  /** `delta-time=` seconds since creation (needs nf_conntrack_timestamp). */
  deltaTime?: number;
  /** `labels=` as printed. */
  labels?: string;
  /** `helper=` name. */
  helper?: string;
  /** Trailing `[USERSPACE] portid=N progname=X`: the event was caused by a userspace program. */
  userspace?: { portid?: number; progname?: string };
  /** Unknown `key=value` tokens, kept verbatim rather than rejected. */
  extra?: Record<string, string>;
}

/** `WARNING: We have hit ENOBUFS! We are losing events.`: events were dropped. */
export interface EventLossRecord {
  kind: 'event-loss';
  /** Why the loss is known, e.g. `ENOBUFS`. */
  reason: string;
  /** The raw line. */
  raw: string;
}

/** `conntrack vX (conntrack-tools): N flow entries have been shown.` closing a `-L` dump. */
export interface SummaryRecord {
  kind: 'summary';
  /** Number of entries the dump said it printed. */
  count: number;
  /** conntrack-tools version, e.g. `1.4.7`. */
  version?: string;
}

/** One per-CPU line of `conntrack -S`. */
export interface CpuStatsRecord {
  kind: 'cpu-stats';
  /** CPU index from `cpu=N`. */
  cpu: number;
  /** Every `key=value` counter on the line (found, invalid, insert_failed, drop, early_drop, clash_resolve, ...). */
  counters: Record<string, number>;
}

/** The bare number `conntrack -C` prints. */
export interface CountRecord {
  kind: 'count';
  /** Number of entries in the table. */
  count: number;
}

/** Blank or comment line, carrying nothing. */
export interface BlankRecord {
  kind: 'blank';
}

/** Any successfully recognised line. */
export type ConntrackRecord =
  | FlowRecord
  | EventLossRecord
  | SummaryRecord
  | CpuStatsRecord
  | CountRecord
  | BlankRecord;

/** Why a line could not be parsed; the stream goes on. */
export interface ParseError {
  kind: 'error';
  /** Human-readable reason, e.g. `reply tuple incomplete (truncated line?)`. */
  reason: string;
  /** The offending line (possibly shortened). */
  raw: string;
}

/** Parser output: a record, or a typed error. Never throws. */
export type ParseResult = ConntrackRecord | ParseError;
