/** Public surface of ctscope's pure core (no Node or DOM imports anywhere below), grouped by concept folder. */

// analyze/: offline analysis of a capture
export { type AnalyzeResult, analyzeCapture, type NamedText } from './analyze/analyze-capture.js';
// conntrack/: reading conntrack's output
export type {
  ConntrackEventType,
  FlowRecord,
  ParseError,
  ParseResult,
  Tuple,
} from './conntrack/conntrack-types.js';
export { LineSplitter, type LineSplitterOptions } from './conntrack/line-splitter.js';
export { parseConntrackLine } from './conntrack/parse-conntrack-line.js';
export { parseConntrackOutputLine } from './conntrack/parse-conntrack-output.js';
export { type ProcConntrackStat, parseConntrackProcStat } from './conntrack/parse-conntrack-proc-stat.js';
export { parseConntrackXmlLine } from './conntrack/parse-conntrack-xml.js';
// engine/: one engine for live, server replay and browser replay, and the messages built from it
export type { CountersView } from './engine/counters-view.js';
export {
  dumpStart,
  type EngineBatch,
  EngineCore,
  type EngineCoreState,
  natViewOf,
  RECENT_ALERTS,
  remedyMarkerText,
} from './engine/engine-core.js';
export type { EngineInput, ListenerPriority, NodeCounters, SourceState } from './engine/engine-input.js';
export {
  deltaMessage,
  flowAutoRemedyView,
  flowCounts,
  flowDetail,
  helloMessage,
  REPLAY_INTERVALS,
  replaySources,
  SYNC_NAT_CHANGES,
  type SyncParams,
  syncMessage,
} from './engine/engine-views.js';
export type { TimelineMarker } from './engine/marker-log.js';
export type { RateBucket } from './engine/rate-timeline.js';
export {
  AUTO_REMEDY_RESULTS,
  type AutoRemedyAction,
  type AutoRemedyMode,
  type AutoRemedyResult,
  type FlowAutoRemedyView,
  RemedyLog,
} from './engine/remedy-log.js';
export {
  MAX_REPLAY_SPEED,
  MIN_REPLAY_SPEED,
  ReplayClock,
  type ReplayClockState,
} from './engine/replay-clock.js';
// flows/: the live table of flows
export type { Alert } from './flows/alert.js';
export { AddressInterner, CompactRecord, CompactTuple, flatCopy } from './flows/compact-record.js';
export { type FlowFilter, isEmptyFilter, matchesFilter, parseFlowFilter } from './flows/flow-filter.js';
export { compareReports, type FlowReport, reportFlow } from './flows/flow-report.js';
export {
  DEFAULT_STORE_OPTIONS,
  FlowStore,
  type FlowStoreOptions,
  type FlowStoreState,
  type StoreChanges,
  type StoreStats,
} from './flows/flow-store.js';
export {
  type FlowHistoryEntry,
  FlowTracker,
  type FlowTrackerState,
  HISTORY_ENTRY_BYTES,
  type TrackedFlow,
} from './flows/flow-tracker.js';
// nat/: kube-proxy NAT rules as one model
export { formatEndpoints, formatHostPort } from './nat/format-endpoint.js';
export { describeNatChange, type NatChangeLine } from './nat/nat-change-text.js';
export { makeSnapshot } from './nat/nat-snapshot.js';
export type {
  Endpoint,
  Frontend,
  FrontendKind,
  NatChange,
  NatDiff,
  NatSnapshot,
  NatSourceKind,
  NatView,
} from './nat/nat-types.js';
export type { NatVersion } from './nat/nat-versions.js';
export { parseIptablesSave } from './nat/parse-iptables-save.js';
export { parseIpvsadm } from './nat/parse-ipvsadm.js';
export { detectNatFormat, parseNatSnapshot } from './nat/parse-nat-snapshot.js';
export { parseNftKubeProxy } from './nat/parse-nft-kube-proxy.js';
// recording/: the recording file format and its player
export type { LoadedRecording } from './recording/loaded-recording.js';
export { type DumpRun, quietRuns } from './recording/quiet-runs.js';
export {
  type EventLossReason,
  type GapReason,
  type ListedReading,
  parseRecordingLine,
  RECORDING_FORMAT_VERSION,
  type RecCheckpoint,
  type RecCounters,
  type RecDeleted,
  type RecDump,
  type RecGap,
  type RecHeader,
  type RecLine,
  type RecListed,
  type RecNat,
  type RecordingLineError,
  type RecordingRecord,
  type RecRemedy,
  type RecState,
} from './recording/recording-format.js';
export { OutlineBuilder } from './recording/recording-outline.js';
export { type PlayerState, RecordingPlayer } from './recording/recording-player.js';
// verdict/: the verdict vocabulary and judging a flow against the rules
export { remedyArgs, remedyCommand } from './verdict/build-remedy.js';
export { type ClassifyOptions, classifyFlow, DEFAULT_UNANSWERED_AFTER_MS } from './verdict/classify-flow.js';
export { countTimeoutResets, DEFAULT_RESET_TOLERANCE_S, isKeptAlive } from './verdict/detect-keep-alive.js';
export type { BadField, Classification, TimeoutObservation } from './verdict/verdict-types.js';
export {
  BAD_VERDICTS,
  type BadVerdict,
  isBadVerdict,
  isSeverity,
  isVerdict,
  SEVERITIES,
  SEVERITY_OF,
  SEVERITY_RANK,
  type Severity,
  VERDICTS,
  type Verdict,
} from './verdict/verdicts.js';
export type {
  FleetNode,
  FleetNodeStatus,
  FleetSnapshot,
  FleetTimeline,
  PrometheusState,
} from './wire/fleet-api.js';
// wire/: the WebSocket protocol and REST bodies
export {
  type ClientMessage,
  type DeltaMessage,
  type ErrorMessage,
  type FlowCounts,
  type HelloMessage,
  type PingMessage,
  type PongMessage,
  PROTOCOL_VERSION,
  type RangeMessage,
  type RowsMessage,
  type ServerMessage,
  type SubscribeMessage,
  type SyncMessage,
} from './wire/protocol.js';
export type {
  BadAtAnswer,
  BadDuringAnswer,
  BadInterval,
  FlowDetail,
  FlowLifecycle,
  LifecycleAnswer,
  LifecycleStep,
  MinuteDensity,
  NatAt,
  NatChangesAnswer,
  RecordingInfo,
  RecordingOutline,
  TupleQuery,
} from './wire/rest-types.js';
