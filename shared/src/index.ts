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
export { parseConntrackXmlLine } from './conntrack/parse-conntrack-xml.js';
// engine/: one engine for live, server replay and browser replay
export { flowAutoRemedyView } from './engine/auto-remedy-view.js';
export { type EngineBatch, EngineCore, natViewOf, remedyMarkerText } from './engine/engine-core.js';
export type { EngineInput, NodeCounters } from './engine/engine-input.js';
export { RemedyLog } from './engine/remedy-log.js';
export {
  MAX_REPLAY_SPEED,
  MIN_REPLAY_SPEED,
  ReplayClock,
  type ReplayClockState,
} from './engine/replay-clock.js';
export { isEmptyFilter, matchesFilter, parseFlowFilter } from './flows/flow-filter.js';
export { compareReports, type FlowReport, reportFlow } from './flows/flow-report.js';
export {
  DEFAULT_STORE_OPTIONS,
  FlowStore,
  type FlowStoreOptions,
  type NatVersion,
  type StoreChanges,
  type StoreStats,
} from './flows/flow-store.js';
// flows/: the live table of flows
export { type FlowHistoryEntry, FlowTracker, type TrackedFlow } from './flows/flow-tracker.js';
export { formatEndpoints, formatHostPort } from './nat/format-endpoint.js';
export { describeNatChange, type NatChangeLine } from './nat/nat-change-text.js';
export { makeSnapshot } from './nat/nat-snapshot.js';
// nat/: kube-proxy NAT rules as one model
export type {
  Endpoint,
  Frontend,
  FrontendKind,
  NatDiff,
  NatSnapshot,
  NatSourceKind,
} from './nat/nat-types.js';
export { parseIptablesSave } from './nat/parse-iptables-save.js';
export { parseIpvsadm } from './nat/parse-ipvsadm.js';
export { detectNatFormat, parseNatSnapshot } from './nat/parse-nat-snapshot.js';
export { parseNftKubeProxy } from './nat/parse-nft-kube-proxy.js';
// recording/: the recording file format and its player
export {
  type GapReason,
  parseRecordingLine,
  RECORDING_FORMAT_VERSION,
  type RecCheckpoint,
  type RecCounters,
  type RecDeleted,
  type RecDump,
  type RecGap,
  type RecHeader,
  type RecLine,
  type RecNat,
  type RecordingLineError,
  type RecordingRecord,
  type RecRemedy,
} from './recording/recording-format.js';
export { RecordingPlayer } from './recording/recording-player.js';
export { remedyArgs, remedyCommand } from './verdict/build-remedy.js';
export { type ClassifyOptions, classifyFlow, DEFAULT_UNANSWERED_AFTER_MS } from './verdict/classify-flow.js';
export { countTimeoutResets, DEFAULT_RESET_TOLERANCE_S, isKeptAlive } from './verdict/detect-keep-alive.js';
// verdict/: judging a flow against the rules
export type {
  BadField,
  Classification,
  Severity,
  TimeoutObservation,
  Verdict,
} from './verdict/verdict-types.js';

// wire/: the WebSocket protocol
export type {
  Alert,
  AutoRemedyAction,
  AutoRemedyMode,
  AutoRemedyResult,
  ClientMessage,
  CountersView,
  DeltaMessage,
  ErrorMessage,
  FlowAutoRemedyView,
  FlowFilter,
  HelloMessage,
  NatChange,
  NatView,
  PingMessage,
  PongMessage,
  RateBucket,
  ServerMessage,
  SourceState,
  SubscribeMessage,
  SyncMessage,
  TimelineMarker,
} from './wire/protocol.js';
export { AUTO_REMEDY_RESULTS, PROTOCOL_VERSION } from './wire/protocol.js';
