/**
 * Wires the data sources to the store, with no React: the live (or server-replay) WebSocket, or a recording
 * replayed in the browser. Components call its methods; they never touch sockets or timers.
 */
import type { FlowDetail, FlowFilter, RecordingInfo } from '@ctscope/shared';
import { isEmptyFilter } from '@ctscope/shared';
import { parseRecordingText } from '../domain/recording-file.js';
import { filterToQuery } from '../domain/url-state.js';
import { type ApiClient, ApiError } from './api-client.js';
import { ConnectionManager, type ConnectionManagerOptions } from './connection-manager.js';
import { DashboardStore } from './dashboard-store.js';
import { LocalReplay } from './local-replay.js';
import { readRecordingFile } from './read-recording-file.js';
import type { ReplayControls } from './replay-controls.js';
import { RowPager } from './row-pager.js';
import { ServerReplay } from './server-replay.js';

/** What the delete button reports. */
export interface DeleteOutcome {
  ok: boolean;
  message: string;
  command?: string[];
}

/** Owns the store and the active source. */
export class DashboardController {
  readonly store = new DashboardStore();
  private manager: ConnectionManager | undefined;
  private local: LocalReplay | undefined;
  private serverReplay: ServerReplay | undefined;
  private filter: FlowFilter = {};
  private subscribeTimer: ReturnType<typeof setTimeout> | undefined;
  private resyncRequested = false;
  /** Rows beyond the window, fetched as the table scrolls through them. */
  readonly rows = new RowPager((msg) => this.manager?.send(msg) ?? false);
  private readonly unsubscribe: () => void;

  constructor(
    readonly api: ApiClient,
    private readonly managerOptions: Partial<ConnectionManagerOptions> = {},
  ) {
    // Watches the reducer's verdict on sequence continuity and follows up outside the pure code.
    this.unsubscribe = this.store.subscribe(() => this.afterChange());
  }

  /** Connect to the server's stream (live or `ctscope replay`), filtered server-side. */
  connect(filter: FlowFilter): void {
    this.filter = filter;
    this.stopLocal();
    if (this.manager) return;
    this.store.dispatchNow({ type: 'reset', mode: 'live' });
    this.manager = new ConnectionManager({
      // Resume only into the same server run: the instance from its hello.
      url: (resume) =>
        this.api.wsUrl({
          ...filterToQuery(this.filter),
          resume,
          instance: resume === undefined ? undefined : this.store.getState().hello?.instance,
        }),
      resumeSeq: () => {
        const s = this.store.getState();
        return s.synced && s.mode !== 'local' ? s.seq : undefined;
      },
      onMessage: (msg) => {
        this.store.dispatch(msg);
        switch (msg.type) {
          case 'hello':
            this.rows.configure(msg.window);
            this.onHello(msg.mode);
            break;
          case 'sync':
            this.resyncRequested = false;
            this.rows.onSync();
            break;
          case 'rows':
            this.rows.onRows(msg);
            break;
          case 'error':
            if (msg.id !== undefined) this.rows.onError(msg.id);
            break;
        }
      },
      onStatus: (connection) => this.store.dispatch({ type: 'connection', connection }),
      ...this.managerOptions,
    });
    this.manager.start();
  }

  /** New server-side filter; debounced so typing does not ask for a sync per keystroke. */
  setFilter(filter: FlowFilter): void {
    const same = JSON.stringify(filter) === JSON.stringify(this.filter);
    this.filter = filter;
    if (same || !this.manager) return;
    // Rows fetched so far belong to the old filter, and so would answers until the server switches.
    this.rows.reset(true);
    clearTimeout(this.subscribeTimer);
    this.subscribeTimer = setTimeout(() => {
      this.manager?.send({ type: 'subscribe', filter: isEmptyFilter(this.filter) ? undefined : this.filter });
    }, 250);
  }

  private onHello(mode: 'live' | 'replay'): void {
    if (mode === 'replay' && !this.serverReplay) {
      this.serverReplay = new ServerReplay(this.api, this.store, 1000, (message) =>
        this.store.dispatch({ type: 'error', message }),
      );
      this.serverReplay.start();
    }
  }

  private afterChange(): void {
    const s = this.store.getState();
    if (s.needsResync && !this.resyncRequested && this.manager) {
      this.resyncRequested = this.manager.send({
        type: 'subscribe',
        filter: isEmptyFilter(this.filter) ? undefined : this.filter,
      });
    }
  }

  /** Replay a recording's text in the browser (a dropped file, or one fetched from the server's list). */
  openRecordingText(text: string, name: string, at?: number): void {
    const rec = parseRecordingText(text);
    this.disconnect();
    this.stopLocal();
    this.local = new LocalReplay(rec, this.store);
    this.local.start(name, at);
  }

  /** Replay a dropped file here (plain NDJSON, or gzip: a compressed segment or an exported slice). */
  async openRecordingFile(file: Blob, name: string, at?: number): Promise<void> {
    this.openRecordingText(await readRecordingFile(file), name, at);
  }

  /** Download a recording from the server's list and replay it here. */
  async openServerRecording(name: string, at?: number): Promise<void> {
    const file = await this.api.blob(`/api/recordings/${encodeURIComponent(name)}`);
    this.openRecordingText(await readRecordingFile(file), name, at);
  }

  async listRecordings(): Promise<RecordingInfo[] | undefined> {
    try {
      return (await this.api.get<{ recordings: RecordingInfo[] }>('/api/recordings')).recordings;
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  /** Leave an in-browser replay and go back to the server's stream. */
  backToServer(): void {
    this.stopLocal();
    this.connect(this.filter);
  }

  /** The replay controls in force, if replaying. */
  replayControls(): ReplayControls | undefined {
    return this.local ?? this.serverReplay;
  }

  async flowDetail(id: string, signal?: AbortSignal): Promise<FlowDetail> {
    if (this.local) {
      const d = this.local.detail(id);
      if (!d) throw new ApiError(404, `no flow ${id} at this point of the recording`);
      return d;
    }
    return this.api.get<FlowDetail>(`/api/flows/${encodeURIComponent(id)}`, signal);
  }

  async deleteFlow(id: string): Promise<DeleteOutcome> {
    const { status, body } = await this.api.del<{ ok?: boolean; message?: string; command?: string[] }>(
      `/api/flows/${encodeURIComponent(id)}`,
    );
    return {
      ok: status === 200 && body.ok === true,
      message: body.message ?? `HTTP ${status}`,
      command: body.command,
    };
  }

  /** For tests and the debug console: drop the socket as a network failure would. */
  dropConnection(): void {
    this.manager?.drop('dropped by the page');
  }

  private disconnect(): void {
    this.rows.reset();
    this.manager?.stop();
    this.manager = undefined;
    this.serverReplay?.dispose();
    this.serverReplay = undefined;
    clearTimeout(this.subscribeTimer);
  }

  private stopLocal(): void {
    this.local?.dispose();
    this.local = undefined;
  }

  /** Stop every source (the page unmounting); `connect` or `openRecordingText` starts again. */
  stop(): void {
    this.disconnect();
    this.stopLocal();
  }

  dispose(): void {
    this.stop();
    this.rows.dispose();
    this.unsubscribe();
    this.store.dispose();
  }
}
