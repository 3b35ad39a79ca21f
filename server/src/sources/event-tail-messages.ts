/** Messages between the event tail worker (which owns the `conntrack -E` child) and the main thread. */

/** What the main thread gives the worker. */
export interface EventTailWorkerData {
  /** Command and argv (already wrapped for netns and priority). */
  file: string;
  argv: string[];
  /** Longest stdout line kept; longer ones are dropped by the splitter. */
  maxLineLength: number;
  /** Lines handed to the main thread but not yet consumed may hold at most this many chars; beyond, lines are dropped. */
  maxBacklogChars: number;
  /** Int32Array[1] over this: chars posted and not yet consumed (worker adds, main subtracts). */
  backlog: SharedArrayBuffer;
  /** Lower the child's nice level as far as allowed (when SCHED_FIFO is not in force). */
  niceChild: boolean;
  /** Put this reader thread under SCHED_FIFO at this priority (when the listener runs under it too). */
  readerFifo?: number;
  /** Give the listener a named pipe, read with pauses (falls back to an anonymous pipe if none can be made). */
  pollNamedPipe: boolean;
}

/** Lines read in one chunk; `at` is its receive time (ms, wall clock). */
export interface EventTailChunk {
  at: number;
  lines: string[];
}

/** Worker → main. `at` is the receive time (ms, wall clock). */
export type EventTailMessage =
  | { t: 'spawned'; pid: number | undefined; childNice?: number; reader: string; pipe: 'named' | 'anonymous' }
  /** Sent as soon as the listener runs (before `spawned`, which waits for the reader's scheduling). */
  | { t: 'pid'; pid: number }
  /** Chunks read within one batching window, in order. */
  | { t: 'lines'; chunks: EventTailChunk[]; chars: number }
  | { t: 'stderr'; at: number; lines: string[] }
  /** The main thread was too far behind: `lines` lines were dropped between `from` and `at`. */
  | { t: 'backlog'; at: number; from: number; lines: number }
  | {
      t: 'exit';
      exitCode?: number;
      signal?: string;
      /** ENOENT etc. */
      code?: string;
      message?: string;
    };

/** Main → worker. */
export type EventTailCommand = { t: 'stop' };
