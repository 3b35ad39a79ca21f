/** The full dashboard: header, replay bar, banner, timeline, then flows (with detail) or services. */
import type { FlowFilter } from '@ctscope/shared';
import { isEmptyFilter } from '@ctscope/shared';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { DashboardState } from '../domain/dashboard-state.js';
import { selectRows, type TimeRange } from '../domain/flow-rows.js';
import { formatClock } from '../domain/format.js';
import type { Kpis } from '../domain/kpis.js';
import { PRESETS, type SortState, type TimeWindow, type UrlState } from '../domain/url-state.js';
import { type Shortcut, useKeyboardShortcuts } from '../hooks/use-keyboard-shortcuts.js';
import { useRowPagerVersion } from '../hooks/use-row-pager.js';
import { useThrottled } from '../hooks/use-throttled.js';
import type { DashboardController } from '../transport/dashboard-controller.js';
import { AlertToasts } from './AlertToasts.js';
import { copyText } from './CopyButton.js';
import { CriticalBanner } from './CriticalBanner.js';
import { DropZone } from './DropZone.js';
import { FlowDetail } from './FlowDetail.js';
import { FlowFilters } from './FlowFilters.js';
import { FlowTable, type MoreRows } from './FlowTable.js';
import { Header } from './Header.js';
import { HelpOverlay } from './HelpOverlay.js';
import { RecordingPicker } from './RecordingPicker.js';
import { ReplayBar } from './ReplayBar.js';
import { ServicesView } from './ServicesView.js';
import { Timeline } from './Timeline.js';

/** What the dashboard needs: the controller, the state, and the URL state. */
export interface DashboardProps {
  controller: DashboardController;
  state: DashboardState;
  kpis: Kpis;
  url: UrlState;
  setUrl: (patch: Partial<UrlState> | ((s: UrlState) => Partial<UrlState>)) => void;
}

/** Chart redraw period, ms. */
const CHART_MS = 1000;

const SPEED_STEPS = [0.1, 0.25, 0.5, 1, 2, 5, 10, 25, 50, 100];

/** The concrete range a window means at data time `now`. */
export function windowRange(w: TimeWindow, now: number): TimeRange {
  return w.kind === 'fixed' ? { from: w.from, to: w.to } : { from: now - w.spanMs, to: now };
}

/** The interactive dashboard (everything but wall mode). */
export function Dashboard({ controller, state, kpis, url, setUrl }: DashboardProps) {
  const [help, setHelp] = useState(false);
  const [picker, setPicker] = useState(false);
  const [notice, setNotice] = useState<string | undefined>();
  const textRef = useRef<HTMLInputElement>(null);
  const now = state.now || Date.now();

  // Re-sorting 100k rows ten times a second would eat the frame budget: slow down for big tables.
  const gen = state.generation;
  const flowsVersion = useThrottled(
    state.flowsVersion,
    state.flows.size > 20_000 ? 1000 : state.flows.size > 5000 ? 300 : 0,
    gen,
  );
  // Rows depend on the clock only through ages and the window edges: a one-second grain is enough.
  const tableNow = Math.floor(now / 1000) * 1000;
  const flows = state.flows;
  // biome-ignore lint/correctness/useExhaustiveDependencies: the map changes in place; flowsVersion (throttled) stands for its content.
  const { rows, held } = useMemo(
    () => ({
      rows: selectRows(flows, url.filter, windowRange(url.window, tableNow), url.sort, tableNow),
      held: flows.size,
    }),
    [flows, flowsVersion, url.filter, url.sort, url.window, tableNow],
  );

  // Past the window, rows come from the server page by page as the table scrolls. Its pages are in its own
  // worst-first order with no time window, so only that view scrolls on; another sort orders the window.
  const pager = controller.rows;
  const pagesVersion = useRowPagerVersion(pager);
  const paged =
    state.mode !== 'local' &&
    url.sort.key === 'worst' &&
    url.sort.dir === 'asc' &&
    url.window.kind === 'follow' &&
    state.total > held;
  const moreCount = paged ? state.total - held : 0;
  // biome-ignore lint/correctness/useExhaustiveDependencies: the sort is what the pages are ordered by.
  useEffect(() => pager.reset(), [pager, url.sort.key, url.sort.dir]);
  const onShowMore = useCallback(
    (from: number, to: number) => pager.want(held + from, held + Math.min(to, moreCount)),
    [pager, held, moreCount],
  );
  const more = useMemo<MoreRows | undefined>(
    () =>
      paged
        ? { count: moreCount, row: (i) => pager.row(held + i), version: pagesVersion, onShow: onShowMore }
        : undefined,
    [paged, moreCount, pager, held, pagesVersion, onShowMore],
  );
  useEffect(() => {
    if (!paged) pager.want(0, 0);
  }, [paged, pager]);

  // The chart redraws at most once a second (its buckets are per second); recharts is the costliest thing here.
  const timeline = useThrottled(state.timeline, CHART_MS, gen);
  const markers = useThrottled(state.markers, CHART_MS, gen);
  const chartNow = useThrottled(now, CHART_MS, gen);
  const chartRange = useMemo(() => windowRange(url.window, chartNow), [url.window, chartNow]);
  const badCount = useMemo(() => rows.filter((r) => r.severity !== 'ok').length, [rows]);
  const selected = url.flow;
  const selectedReport = selected ? state.flows.get(selected) : undefined;
  const replay = controller.replayControls();
  const replaying = state.mode === 'replay' || state.mode === 'local';

  const select = useCallback((id: string | undefined) => setUrl({ flow: id }), [setUrl]);
  const onWindow = useCallback((w: TimeWindow) => setUrl({ window: w }), [setUrl]);
  const onSort = useCallback((sort: SortState) => setUrl({ sort }), [setUrl]);
  const loadDetail = useCallback(
    (id: string, signal: AbortSignal) => controller.flowDetail(id, signal),
    [controller],
  );

  const openFile = useCallback(
    async (file: File) => {
      setPicker(false);
      try {
        await controller.openRecordingFile(file, file.name);
        setUrl({
          rec: undefined,
          at: undefined,
          flow: undefined,
          window: { kind: 'follow', spanMs: url.window.kind === 'follow' ? url.window.spanMs : 900_000 },
        });
      } catch (err) {
        setNotice(`Cannot replay ${file.name}: ${(err as Error).message}`);
      }
    },
    [controller, setUrl, url.window],
  );

  // A replay opens on a window that fits the recording (the smallest preset covering it), once per recording.
  const fitted = useRef<string | undefined>(undefined);
  const explicitWindow = useRef(/[?&](win|from)=/.test(window.location.search));
  useEffect(() => {
    const c = state.replay;
    if (!c || !replaying) return;
    const key = `${state.mode}|${state.recordingName ?? ''}|${c.start}|${c.end}`;
    if (fitted.current === key) return;
    fitted.current = key;
    // A shared link that names its window keeps it.
    if (explicitWindow.current) {
      explicitWindow.current = false;
      return;
    }
    const length = c.end - c.start;
    const preset = PRESETS.find((p) => p.spanMs >= length) ?? PRESETS[PRESETS.length - 1]!;
    setUrl((s) => (s.window.kind === 'follow' ? { window: { kind: 'follow', spanMs: preset.spanMs } } : {}));
  }, [state.replay, state.mode, state.recordingName, replaying, setUrl]);

  // A shared link into a server replay: seek to its position once the clock is known.
  const seekedFromUrl = useRef(false);
  useEffect(() => {
    if (state.mode === 'replay' && state.replay && url.at !== undefined && !seekedFromUrl.current && replay) {
      seekedFromUrl.current = true;
      replay.seek(url.at);
    }
  }, [state.mode, state.replay, url.at, replay]);

  const moveSelection = (delta: number) => {
    if (rows.length === 0) return;
    const i = selected ? rows.findIndex((r) => r.id === selected) : -1;
    const next = rows[Math.max(0, Math.min(rows.length - 1, i < 0 ? 0 : i + delta))];
    if (next) select(next.id);
  };
  const seekBy = (ms: number) => {
    if (replay && state.replay) {
      replay.seek(state.replay.time + ms);
      setUrl({ at: Math.round(state.replay.time + ms) });
    }
  };
  const stepSpeed = (dir: number) => {
    if (!replay || !state.replay) return;
    const i = SPEED_STEPS.findIndex((s) => s >= state.replay!.speed);
    replay.setSpeed(SPEED_STEPS[Math.max(0, Math.min(SPEED_STEPS.length - 1, (i < 0 ? 3 : i) + dir))]!);
  };

  const closeTopmost = () => {
    if (help) setHelp(false);
    else if (picker) setPicker(false);
    else select(undefined);
  };
  const togglePlay = () => {
    if (!replay || !state.replay) return;
    if (state.replay.playing) replay.pause();
    else replay.play();
  };
  useKeyboardShortcuts([
    ['?', () => setHelp((h) => !h)],
    ['Escape', closeTopmost],
    ['j', () => moveSelection(1)],
    ['ArrowDown', () => moveSelection(1)],
    ['k', () => moveSelection(-1)],
    ['ArrowUp', () => moveSelection(-1)],
    ['/', () => textRef.current?.focus()],
    ['v', () => setUrl((s) => ({ view: s.view === 'flows' ? 'services' : 'flows' }))],
    ['t', () => setUrl((s) => ({ theme: s.theme === 'dark' ? 'light' : 'dark' }))],
    ['o', () => setPicker(true)],
    [
      'c',
      () => {
        if (selectedReport?.remedy) {
          void copyText(selectedReport.remedy).then((ok) =>
            setNotice(ok ? 'Remedy copied.' : 'Copy failed.'),
          );
        }
      },
    ],
    ...PRESETS.map(
      (p, i): Shortcut => [String(i + 1), () => setUrl({ window: { kind: 'follow', spanMs: p.spanMs } })],
    ),
    [
      '0',
      () =>
        setUrl((s) => ({
          window: { kind: 'follow', spanMs: s.window.kind === 'follow' ? s.window.spanMs : 900_000 },
        })),
    ],
    [' ', togglePlay],
    ['ArrowLeft', (e) => seekBy(e.shiftKey ? -60_000 : -10_000)],
    ['ArrowRight', (e) => seekBy(e.shiftKey ? 60_000 : 10_000)],
    ['Home', () => state.replay && seekBy(state.replay.start - state.replay.time)],
    ['End', () => state.replay && seekBy(state.replay.end - state.replay.time)],
    ['[', () => stepSpeed(-1)],
    [']', () => stepSpeed(1)],
  ]);

  useEffect(() => {
    if (!notice) return;
    const t = setTimeout(() => setNotice(undefined), 6000);
    return () => clearTimeout(t);
  }, [notice]);

  const setFilter = (filter: FlowFilter) => setUrl({ filter });

  return (
    <div className="app">
      <Header
        state={state}
        view={url.view}
        onView={(view) => setUrl({ view })}
        theme={url.theme}
        onTheme={(theme) => setUrl({ theme })}
        onHelp={() => setHelp(true)}
        onRecordings={() => setPicker(true)}
      />
      {replaying && (
        <ReplayBar
          clock={state.replay}
          controls={replay}
          mode={state.mode === 'local' ? 'local' : 'replay'}
          recordingName={state.recordingName}
          outline={state.replayOutline}
          onSeek={(t) => setUrl({ at: Math.round(t) })}
          onBackToLive={
            state.mode === 'local'
              ? () => {
                  controller.backToServer();
                  setUrl({ rec: undefined, at: undefined, flow: undefined });
                }
              : undefined
          }
        />
      )}
      {state.mode !== 'local' && state.synced && state.connection.status !== 'open' && (
        <div className="banner banner-stale" role="status">
          <span aria-hidden="true">⚠ </span>Connection lost: showing the state as of {formatClock(state.now)}.
          Reconnecting by itself.
        </div>
      )}
      {(notice || state.lastError) && (
        <div className="notice" role="status">
          {notice ?? `Server: ${state.lastError}`}
        </div>
      )}
      <AlertToasts alerts={state.alerts} onPick={(id) => setUrl({ flow: id, view: 'flows' })} />
      <CriticalBanner
        critical={kpis.critical}
        services={kpis.criticalServices}
        alerts={state.alerts}
        onPick={(id) => setUrl({ flow: id, view: 'flows' })}
      />
      <Timeline
        timeline={timeline}
        markers={markers}
        range={chartRange}
        window={url.window}
        onWindow={onWindow}
      />
      {url.view === 'flows' ? (
        <main className={`flows-area${selected ? ' with-detail' : ''}`}>
          <div className="flows-main">
            <FlowFilters
              ref={textRef}
              filter={url.filter}
              onFilter={setFilter}
              shown={rows.length + moreCount}
              held={paged ? state.total : state.flows.size}
              bad={badCount}
              truncated={state.truncated && !paged}
            />
            <FlowTable
              rows={rows}
              more={more}
              now={tableNow}
              selectedId={selected}
              onSelect={select}
              sort={url.sort}
              onSort={onSort}
            />
          </div>
          {selected && (
            <FlowDetail
              key={selected}
              id={selected}
              report={selectedReport}
              load={loadDetail}
              refreshToken={Math.floor(now / 2000)}
              now={now}
              allowDelete={state.mode === 'live' && (state.hello?.allowDelete ?? false)}
              onDelete={(id) => controller.deleteFlow(id)}
              onClose={() => select(undefined)}
            />
          )}
        </main>
      ) : (
        <main className="services-area">
          <ServicesView
            nat={state.nat}
            changes={state.natChanges}
            flows={state.flows}
            flowsVersion={flowsVersion}
            filtered={!isEmptyFilter(url.filter)}
            onPickService={(service) => setUrl((s) => ({ view: 'flows', filter: { ...s.filter, service } }))}
          />
        </main>
      )}
      <DropZone onFile={openFile} />
      {help && <HelpOverlay onClose={() => setHelp(false)} />}
      {picker && (
        <RecordingPicker
          list={() => controller.listRecordings()}
          serverReplay={state.mode === 'replay'}
          onFile={openFile}
          onClose={() => setPicker(false)}
          onOpen={async (name) => {
            await controller.openServerRecording(name);
            setPicker(false);
            setUrl({ rec: name, at: undefined, flow: undefined });
          }}
        />
      )}
    </div>
  );
}
