/** Types for flood-netns.mjs. */
export declare const FLOOD_SOURCE: string;
export declare const CLUSTER_IP: string;
export declare const CLUSTER_PORT: number;
export declare const ENDPOINTS: Array<{ ip: string; port: number }>;
export declare const PLAIN_IP: string;
export declare const PLAIN_PORT: number;
export declare function floodSkipReason(): string | undefined;
export declare function compileFlood(): Promise<string>;
export declare function createFloodNetns(name: string): Promise<void>;
export declare function deleteNetns(name: string): Promise<void>;
export declare function listNetns(prefix: string): Promise<string[]>;
export declare function runFlood(
  bin: string,
  netns: string,
  o: { count: number; rate: number; srcBase?: string },
): Promise<{ sent: number; seconds: number; rate: number }>;
export declare function conntrackCount(netns: string): Promise<number>;
export declare function canUseFifo(): Promise<boolean>;
export declare function startListener(
  netns: string,
  file: string,
  o?: { prioritised?: boolean },
): { ready: Promise<void>; stop(): Promise<string> };
export declare function countNewInFile(file: string): Promise<number>;
export declare function untilStable<T>(
  read: () => Promise<T>,
  o?: { everyMs?: number; stableReads?: number; maxMs?: number },
): Promise<T>;
export declare function serveListening(
  child: import('node:child_process').ChildProcess,
  timeoutMs?: number,
): { url: Promise<string>; stderr: () => string };
