/** Contracts between the node sources (processes ctscope runs) and the rest of the server. */
import type { EngineInput } from '@ctscope/shared';

/** Counters read from the node (defined in shared, where the engine consumes them). */
export type { NodeCounters } from '@ctscope/shared';
/** How every node command is run (defined with the runner). */
export type { NodeCommandOptions } from '../node/node-command.js';

/** What the sources report; the server wires these to the flow store, recorder and clients. Must not block. */
export type SourceSink = EngineInput;
