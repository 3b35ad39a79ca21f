/** The cluster wall: summary and data-source state, one tile per node (worst first), and the timeline. */
import { formatClock } from '../domain/format.js';
import { FleetTile } from './FleetTile.js';
import { FleetTimeline } from './FleetTimeline.js';
import type { FleetState } from './fleet-store.js';
import { sourceBanner, summarize } from './fleet-view.js';

export function FleetWall({ state, now, kiosk }: { state: FleetState; now: number; kiosk: boolean }) {
  const snap = state.snapshot;
  const nodes = snap?.nodes ?? [];
  const sum = summarize(nodes);
  const banner = sourceBanner(state, now);
  return (
    <main className={`fleet${kiosk ? ' fleet-kiosk' : ''}`} aria-label="ctscope fleet wall">
      <header className="fleet-head">
        <span className="fleet-brand">
          <span aria-hidden="true">◎</span> ctscope fleet
        </span>
        <span
          className={`fleet-summary${sum.critical > 0 ? ' fleet-summary-crit' : ''}`}
          data-critical-nodes={sum.critical}
        >
          {sum.critical > 0
            ? `✖ ${sum.critical} of ${sum.nodes} nodes critical`
            : `${sum.nodes} node${sum.nodes === 1 ? '' : 's'}${sum.down ? `, ${sum.down} down` : ''}${sum.warning ? `, ${sum.warning} warning` : ''}`}
        </span>
        <output className={`fleet-source fleet-source-${banner.level}`} data-source-state={banner.state}>
          {banner.text}
        </output>
        <span className="fleet-clock mono">{formatClock(now)}</span>
      </header>
      {nodes.length === 0 ? (
        <p className="fleet-empty">
          {snap ? 'Prometheus knows no ctscope agent (job="ctscope").' : 'Waiting for the first answer…'}
        </p>
      ) : (
        <section className="fleet-tiles" aria-label="nodes">
          {nodes.map((n) => (
            <FleetTile key={n.node} node={n} />
          ))}
        </section>
      )}
      {snap && snap.timeline.points.length > 0 && (
        <FleetTimeline snapshot={snap} height={kiosk ? 260 : 220} />
      )}
    </main>
  );
}
