/** Reads a network namespace's `/proc/net` files through a process that lives there, without `ip netns exec`. */
import { readdir, readFile, readlink, stat } from 'node:fs/promises';

/** Options of {@link NetnsProcNet}; the roots are for tests. */
export interface NetnsProcNetOptions {
  /** Default `/proc`. */
  procRoot?: string;
  /** Where `ip netns` keeps its namespaces. Default `/run/netns`. */
  netnsRoot?: string;
  /** Clock, ms. */
  now?: () => number;
  /**
   * After a scan that found no process in the namespace, wait this long before the next one (default 5 s: a scan
   * reads a link per process, about a millisecond per few hundred; meanwhile the caller spawns).
   */
  rescanMs?: number;
}

/**
 * Outside a namespace, our own `/proc/self/net`. Inside one, the `net` directory of a process that lives in it,
 * found by scanning `/proc` for a `ns/net` link that names the namespace's inode. The pid is kept and checked
 * again at every call (pids are reused), and the scan is not repeated more than once per `rescanMs` when it finds
 * none, e.g. while the event listener (which lives there) restarts.
 */
export class NetnsProcNet {
  readonly #netns: string | undefined;
  readonly #procRoot: string;
  readonly #netnsRoot: string;
  readonly #now: () => number;
  readonly #rescanMs: number;
  #pid: string | undefined;
  #nextScanAt = 0;

  constructor(netns: string | undefined, opts: NetnsProcNetOptions = {}) {
    this.#netns = netns;
    this.#procRoot = opts.procRoot ?? '/proc';
    this.#netnsRoot = opts.netnsRoot ?? '/run/netns';
    this.#now = opts.now ?? Date.now;
    this.#rescanMs = opts.rescanMs ?? 5000;
  }

  /**
   * The text of `net/<rel>` as the namespace sees it, or undefined when no process in it could be found or the file
   * could not be read (the caller then spawns). A pid that left the namespace while the file was read (it exited
   * and the pid was reused) voids the reading.
   */
  async read(rel: string): Promise<string | undefined> {
    const link = await this.#link();
    const dir = await this.#dir(link);
    if (dir === undefined) return undefined;
    let text: string;
    try {
      text = await readFile(`${dir}/${rel}`, 'utf8');
    } catch {
      return undefined;
    }
    if (link !== undefined && (await this.#linkOf(this.#pid!)) !== link) return undefined;
    return text;
  }

  /** The ns link a process in the namespace has (`net:[inode]`); undefined outside a namespace or if it is gone. */
  async #link(): Promise<string | undefined> {
    if (this.#netns === undefined) return undefined;
    try {
      return `net:[${(await stat(`${this.#netnsRoot}/${this.#netns}`)).ino}]`;
    } catch {
      return undefined;
    }
  }

  async #dir(link: string | undefined): Promise<string | undefined> {
    if (this.#netns === undefined) return `${this.#procRoot}/self/net`;
    if (link === undefined) return undefined;
    if (this.#pid !== undefined && (await this.#linkOf(this.#pid)) === link) return this.#netDir(this.#pid);
    this.#pid = undefined;
    if (this.#now() < this.#nextScanAt) return undefined;
    // Until a scan finds one, whatever made it fail.
    this.#nextScanAt = this.#now() + this.#rescanMs;
    let pids: string[];
    try {
      pids = (await readdir(this.#procRoot)).filter((p) => /^\d+$/.test(p));
    } catch {
      return undefined;
    }
    // Newest first: our own children (the listener, a monitor) are among the most recent.
    pids.sort((a, b) => Number(b) - Number(a));
    for (const pid of pids) {
      if ((await this.#linkOf(pid)) === link) {
        this.#pid = pid;
        this.#nextScanAt = 0;
        return this.#netDir(pid);
      }
    }
    return undefined;
  }

  #netDir(pid: string): string {
    return `${this.#procRoot}/${pid}/net`;
  }

  async #linkOf(pid: string): Promise<string | undefined> {
    try {
      return await readlink(`${this.#procRoot}/${pid}/ns/net`);
    } catch {
      return undefined;
    }
  }
}
