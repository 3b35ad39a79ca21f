/** Types for synth-recording.mjs. */
import type { NatSnapshot } from '@ctscope/shared';
export declare const NAT_UP: NatSnapshot;
export declare const NAT_DOWN: NatSnapshot;
export interface SynthOptions {
  start?: number;
  durationMs?: number;
  rate?: number;
  gzip?: boolean;
  segmentBytes?: number;
  seed?: number;
  incidents?: Array<{ at: number; durationMs: number; deleteAfterMs: number }>;
  dumpEveryMs?: number;
  gapEveryMs?: number;
  unansweredShare?: number;
}
export interface SynthResult {
  dir: string;
  files: string[];
  start: number;
  end: number;
  records: number;
  bytes: number;
  flows: number;
  truth: { badFlows: Array<{ id: number; at: number }>; firstBad: number | null; natChanges: number[] };
}
export declare function writeSyntheticRecording(dir: string, o?: SynthOptions): Promise<SynthResult>;
