/**
 * Wall mode: dark, large type, nothing to click. The banner, five KPIs, a compact timeline, the latest markers
 * and the latest alerts. It follows the live data clock and needs no interaction; the connection layer reconnects by itself.
 * The lightest view: it holds only critical flows (App subscribes it so) and redraws the chart once a second.
 */
import { useMemo } from 'react';
import { alertKey, alertText, newestAlerts } from '../domain/alert-text.js';
import type { DashboardState } from '../domain/dashboard-state.js';
import { formatClock, formatCount, formatPercent, formatRate } from '../domain/format.js';
import type { Kpis } from '../domain/kpis.js';
import { groupMarkerRuns } from '../domain/marker-groups.js';
import type { TimeWindow } from '../domain/url-state.js';
import { useThrottled } from '../hooks/use-throttled.js';
import { CriticalBanner } from './CriticalBanner.js';
import { ConnectionBadge } from './Header.js';
import { MARKER_ICON, MarkerRunCount, Timeline } from './Timeline.js';

const WALL_SPAN_MS = 15 * 60_000;
const WALL_WINDOW: TimeWindow = { kind: 'follow', spanMs: WALL_SPAN_MS };
const CHART_MS = 1000;
const noop = () => {};

function Kpi({
  label,
  value,
  level,
  hint,
}: {
  label: string;
  value: string;
  level: 'ok' | 'warn' | 'crit';
  hint?: string;
}) {
  const icon = level === 'crit' ? '✖' : level === 'warn' ? '⚠' : '✓';
  return (
    <fieldset className={`kpi kpi-${level}`}>
      <legend className="kpi-label">{label}</legend>
      <div className="kpi-value">
        <span aria-hidden="true" className="kpi-icon">
          {icon}
        </span>{' '}
        {value}
      </div>
      {hint && <div className="kpi-hint">{hint}</div>}
    </fieldset>
  );
}

/** The wall display. */
export function KioskView({ state, kpis }: { state: DashboardState; kpis: Kpis }) {
  const chartNow = useThrottled(state.now, CHART_MS, state.generation);
  const timeline = useThrottled(state.timeline, CHART_MS, state.generation);
  const markers = useThrottled(state.markers, CHART_MS, state.generation);
  const range = useMemo(() => ({ from: chartNow - WALL_SPAN_MS, to: chartNow }), [chartNow]);
  const latest = useMemo(() => groupMarkerRuns(markers.slice(-200)).slice(-4).reverse(), [markers]);
  const fill = kpis.tableFill;
  const stale = state.mode !== 'local' && state.connection.status !== 'open';
  return (
    <main className="kiosk" aria-label="ctscope wall display">
      <header className="kiosk-head">
        <span className="kiosk-brand">
          <span aria-hidden="true">◎</span> ctscope
        </span>
        <span className="kiosk-node">{state.hello?.node.name ?? '…'}</span>
        <ConnectionBadge
          connection={state.connection}
          mode={state.mode}
          recordingName={state.recordingName}
          large
        />
        <span className="kiosk-clock mono">{state.now ? formatClock(state.now) : '--:--:--'}</span>
      </header>
      {stale && (
        <div className="banner banner-stale" role="status">
          <span aria-hidden="true">⚠ </span>Connection lost: figures below are from{' '}
          {state.now ? formatClock(state.now) : 'before'}; reconnecting by itself
        </div>
      )}
      <CriticalBanner
        critical={kpis.critical}
        services={kpis.criticalServices}
        alerts={state.alerts}
        large
        max={4}
      />
      <section className="kpis" aria-label="Key figures">
        <Kpi
          label="Critical flows now"
          value={String(kpis.critical.length)}
          level={kpis.critical.length ? 'crit' : 'ok'}
        />
        <Kpi
          label="Bad flows / min"
          value={formatCount(kpis.badPerMinute)}
          level={kpis.badPerMinute ? 'warn' : 'ok'}
        />
        <Kpi
          label="Event loss"
          value={kpis.eventLoss ? formatCount(kpis.eventLoss) : 'none'}
          level={kpis.eventLoss ? 'warn' : 'ok'}
          hint={kpis.eventLoss ? `gap${kpis.eventLoss === 1 ? '' : 's'} in what was observed` : undefined}
        />
        <Kpi
          label="Table fill"
          value={formatPercent(fill)}
          level={fill === undefined ? 'ok' : fill > 0.9 ? 'crit' : fill > 0.7 ? 'warn' : 'ok'}
          hint={
            state.counters?.count !== undefined
              ? `${formatCount(state.counters.count)} of ${formatCount(state.counters.max ?? 0)}`
              : undefined
          }
        />
        <Kpi
          label="insert_failed / s"
          value={formatRate(kpis.insertFailedPerS, '')}
          level={(kpis.insertFailedPerS ?? 0) > 0 ? 'warn' : 'ok'}
        />
      </section>
      <section className="kiosk-bottom">
        <Timeline
          timeline={timeline}
          markers={markers}
          range={range}
          window={WALL_WINDOW}
          onWindow={noop}
          compact
          height="100%"
        />
        <ul className="kiosk-markers" aria-label="Latest markers">
          {latest.map((g) => (
            <li key={`${g.t}|${g.kind}|${g.text}`}>
              <span className="mono">{formatClock(g.t)}</span>{' '}
              <span aria-hidden="true">{MARKER_ICON[g.kind]}</span> {g.text}
              {g.count > 1 && <MarkerRunCount group={g} />}
            </li>
          ))}
        </ul>
        <ul className="kiosk-markers kiosk-alerts" aria-label="Latest alerts" data-kiosk-alerts>
          {state.alerts.length === 0 && <li className="muted">No alerts</li>}
          {newestAlerts(state.alerts, 4).map((a) => (
            <li key={alertKey(a)} data-alert-state={a.state} data-alert-flow={a.flowId}>
              <span aria-hidden="true">{a.state === 'raised' ? '✖ ' : '✓ '}</span>
              {alertText(a)}
            </li>
          ))}
        </ul>
      </section>
    </main>
  );
}
