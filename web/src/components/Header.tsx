/** Top bar: node, connection, sources, event loss, table fill, and the view switches. */
import type { ListenerPriority, SourceState } from '@ctscope/shared';
import type { ConnectionInfo, DashboardState } from '../domain/dashboard-state.js';
import { formatCount, formatDuration, formatPercent } from '../domain/format.js';
import type { Theme, View } from '../domain/url-state.js';

/** How the event listener is scheduled: SCHED_FIFO is the norm; anything else is a warning (events may be lost). */
function ListenerPriorityTag({ priority }: { priority: ListenerPriority }) {
  const label =
    priority.mode === 'fifo'
      ? 'FIFO'
      : priority.mode === 'nice'
        ? `nice ${priority.level}`
        : 'not prioritised';
  return (
    <span
      className={`listener-priority${priority.mode === 'fifo' ? '' : ' warn-text'}`}
      data-listener-priority={priority.mode}
    >
      {' '}
      · {priority.mode === 'fifo' ? '' : '⚠ '}
      {label}
    </span>
  );
}

const SOURCE_ICON: Record<SourceState['state'], string> = {
  running: '✓',
  starting: '…',
  failed: '✗',
  stopped: '■',
  disabled: '–',
};

/** Connection state as icon + words; `data-connection` is a stable test hook. */
export function ConnectionBadge({
  connection,
  mode,
  recordingName,
  large = false,
}: {
  connection: ConnectionInfo;
  mode: DashboardState['mode'];
  recordingName?: string;
  large?: boolean;
}) {
  if (mode === 'local') {
    return (
      <span
        className={`conn conn-local${large ? ' conn-large' : ''}`}
        data-connection="local"
        role="status"
        title={recordingName}
      >
        <span aria-hidden="true">⏏ </span>
        In-browser replay
      </span>
    );
  }
  const c = connection;
  const retryIn = c.retryAt ? Math.max(0, Math.ceil((c.retryAt - Date.now()) / 1000)) : undefined;
  const text =
    c.status === 'open'
      ? mode === 'replay'
        ? 'Connected (replay)'
        : 'Connected'
      : c.status === 'reconnecting'
        ? `Reconnecting${c.attempt ? ` · try ${c.attempt}${retryIn !== undefined ? ` in ${retryIn}s` : ''}` : '…'}`
        : c.status === 'connecting'
          ? 'Connecting…'
          : c.status === 'closed'
            ? 'Disconnected'
            : 'Not connected';
  const icon =
    c.status === 'open' ? '●' : c.status === 'reconnecting' || c.status === 'connecting' ? '↻' : '○';
  return (
    <span
      className={`conn conn-${c.status}${large ? ' conn-large' : ''}`}
      data-connection={c.status}
      role="status"
      aria-live="polite"
      title={c.reason ? `last close: ${c.reason}` : undefined}
    >
      <span aria-hidden="true">{icon} </span>
      {text}
    </span>
  );
}

/** Inputs of the top bar. */
export interface HeaderProps {
  state: DashboardState;
  view: View;
  onView: (v: View) => void;
  theme: Theme;
  onTheme: (t: Theme) => void;
  onHelp: () => void;
  onRecordings: () => void;
}

/** The top bar. */
export function Header({ state, view, onView, theme, onTheme, onHelp, onRecordings }: HeaderProps) {
  const c = state.counters;
  const node = state.hello?.node;
  const loss = state.eventLoss;
  const nodeText = `${node?.name ?? '…'}${node?.netns ? ` (netns ${node.netns})` : ''}`;
  return (
    <header className="header">
      <div className="brand">
        <span aria-hidden="true">◎</span> ctscope
      </div>
      <dl className="header-facts">
        <div className="fact-shrink fact-node">
          <dt>Node</dt>
          <dd className="node-name" title={nodeText}>
            {nodeText}
          </dd>
        </div>
        <div>
          <dt>Connection</dt>
          <dd>
            <ConnectionBadge
              connection={state.connection}
              mode={state.mode}
              recordingName={state.recordingName}
            />
          </dd>
        </div>
        <div className="fact-shrink">
          <dt>Sources</dt>
          <dd className="sources">
            {state.sources.length === 0 && <span className="muted">–</span>}
            {state.sources.map((s) => (
              <span
                key={s.name}
                className={`source source-${s.state}`}
                title={`${s.name}: ${s.state} for ${formatDuration(Date.now() - s.since)}${s.restarts ? `, ${s.restarts} restarts` : ''}${s.lastError ? ` — ${s.lastError}` : ''}${s.priority ? ` — listener: ${s.priority.text}` : ''}${s.detail ? ` — ${s.detail}` : ''}`}
              >
                <span aria-hidden="true">{SOURCE_ICON[s.state]}</span> {s.name}
                <span className="sr-only"> {s.state}</span>
                {s.priority && <ListenerPriorityTag priority={s.priority} />}
              </span>
            ))}
          </dd>
        </div>
        {state.hello?.autoRemedy && state.hello.autoRemedy !== 'off' && (
          <div>
            <dt>Auto-remedy</dt>
            <dd
              className={state.hello.autoRemedy === 'on' ? 'crit-text' : 'warn-text'}
              data-auto-remedy={state.hello.autoRemedy}
              title={
                state.hello.autoRemedy === 'on'
                  ? 'ctscope deletes confirmed stuck entries (no-dnat/stale-endpoint, kept alive) by itself; every action is audited and marked'
                  : 'dry-run: ctscope logs and marks every entry it would delete, and deletes nothing'
              }
            >
              <span aria-hidden="true">✂ </span>
              {state.hello.autoRemedy === 'on' ? 'ON' : 'dry-run'}
            </dd>
          </div>
        )}
        <div>
          <dt>Event loss</dt>
          <dd className={loss > 0 ? 'warn-text' : undefined} data-event-loss={loss}>
            {loss > 0 && <span aria-hidden="true">⚠ </span>}
            {loss === 0 ? 'none' : `${loss} gap${loss === 1 ? '' : 's'}`}
          </dd>
        </div>
        <div>
          <dt>Table fill</dt>
          <dd className={c?.fill !== undefined && c.fill > 0.8 ? 'crit-text' : undefined}>
            {c?.count !== undefined ? formatCount(c.count) : '–'}
            {c?.max ? ` / ${formatCount(c.max)}` : ''} ({formatPercent(c?.fill)})
          </dd>
        </div>
      </dl>
      <nav className="header-actions" aria-label="Views and tools">
        <div className="tabs" role="tablist" aria-label="View">
          {(['flows', 'services'] as const).map((v) => (
            <button
              key={v}
              type="button"
              role="tab"
              aria-selected={view === v}
              className={`tab${view === v ? ' tab-active' : ''}`}
              onClick={() => onView(v)}
            >
              {v === 'flows' ? 'Flows' : 'Services'}
            </button>
          ))}
        </div>
        <button type="button" className="btn" onClick={onRecordings} title="Open a recording (o)">
          <span aria-hidden="true">⏏ </span>Recordings
        </button>
        <button
          type="button"
          className="btn"
          onClick={() => onTheme(theme === 'dark' ? 'light' : 'dark')}
          aria-label={`Switch to ${theme === 'dark' ? 'light' : 'dark'} theme (t)`}
        >
          {theme === 'dark' ? '☀ Light' : '☾ Dark'}
        </button>
        <button type="button" className="btn" onClick={onHelp} aria-label="Keyboard shortcuts (?)">
          ?
        </button>
      </nav>
    </header>
  );
}
