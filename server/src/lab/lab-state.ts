/**
 * The lab's state file, `<state dir>/<name>.json` (default /run/ctscope-lab/ctlab.json), so that
 * `lab restart`, `lab replace-endpoint`, `lab status` and `lab down` find what `lab up` made. Per-lab files
 * (logs, ctscope's recordings, the iptables-save bin dir) live in `<state dir>/<name>/`.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { IptablesBackend } from './lab-netns.js';
import type { LabTopology } from './lab-topology.js';

export const DEFAULT_STATE_DIR = '/run/ctscope-lab';
export const DEFAULT_LAB_NAME = 'ctlab';

/** A background process the lab started. */
export interface LabProcess {
  key: string;
  role: 'responder' | 'client' | 'serve';
  /** Namespace it runs in (undefined: the host's, i.e. ctscope serve). */
  netns?: string;
  pid: number;
  /** Adjacent argv words that identify it in /proc/PID/cmdline before it is signalled. */
  marker: string[];
  log: string;
}

export interface LabServe {
  pid: number;
  url: string;
  port: number;
  token: string;
  log: string;
  dataDir: string;
  /** Directory put first on serve's PATH: `iptables-save`/`ip6tables-save` links to the lab's backend. */
  binDir: string;
  suspectPollMs: number;
  natPollMs: number;
  /** `ctscope serve --auto-remedy` (`on`) or `--auto-remedy-dry-run`; absent in older state files: off. */
  autoRemedy?: 'off' | 'on' | 'dry-run';
}

/** One thing that happened to the lab, for `lab status` and post-mortems. */
export interface LabHistoryEntry {
  at: string;
  what: string;
}

export interface LabState {
  version: 1;
  name: string;
  createdAt: string;
  iptables: IptablesBackend;
  /** `<state dir>/<name>`. */
  dir: string;
  topology: LabTopology;
  /** Current address of every pod (changes with `lab replace-endpoint`). */
  podIps: Record<string, string>;
  /** Services whose rules are currently removed (a `lab restart` in progress or interrupted). */
  servicesWithoutRules: string[];
  /** Services whose fixed-port clients' packets skip DNAT (`lab bypass-dnat`): deleting their entries cannot help. */
  dnatBypass?: string[];
  processes: LabProcess[];
  serve?: LabServe;
  history: LabHistoryEntry[];
}

export function stateFile(stateDir: string, name: string): string {
  return join(stateDir, `${name}.json`);
}

export function labDir(stateDir: string, name: string): string {
  return join(stateDir, name);
}

/** The state, or undefined when this lab is not up. */
export async function readState(stateDir: string, name: string): Promise<LabState | undefined> {
  let text: string;
  try {
    text = await readFile(stateFile(stateDir, name), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const state = JSON.parse(text) as LabState;
  if (state.version !== 1)
    throw new Error(`${stateFile(stateDir, name)}: unknown state version ${state.version}`);
  return state;
}

/** Write atomically (temp file + rename), readable by root only: it holds the API token. */
export async function writeState(stateDir: string, state: LabState): Promise<void> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const file = stateFile(stateDir, state.name);
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, file);
}

/** Remove the state file and the lab's directory (logs, recordings). Idempotent. */
export async function removeState(stateDir: string, name: string): Promise<void> {
  await rm(stateFile(stateDir, name), { force: true });
  await rm(labDir(stateDir, name), { recursive: true, force: true });
}

export function noteHistory(state: LabState, what: string, at = new Date()): void {
  state.history.push({ at: at.toISOString(), what });
}
