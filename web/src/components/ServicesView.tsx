/** Services: frontends → endpoints from the current snapshot, bad-flow counts per service, and the change history. */
import {
  describeNatChange,
  type FlowReport,
  formatEndpoints,
  formatHostPort,
  type NatChange,
  type NatView,
} from '@ctscope/shared';
import { useMemo } from 'react';
import { formatClock, formatDateTime, VERDICT_LABEL } from '../domain/format.js';
import { countByFrontend } from '../domain/service-stats.js';

/** Snapshot, change history and the flows to count. */
export interface ServicesViewProps {
  nat?: NatView;
  changes: readonly NatChange[];
  flows: ReadonlyMap<string, FlowReport>;
  /** Changes whenever `flows` does (it is updated in place). */
  flowsVersion: number;
  /** True when the held flows are filtered server-side, so the counts cover only the filter. */
  filtered: boolean;
  onPickService: (service: string) => void;
}

const KIND_ICON = { added: '+', removed: '−', changed: '⇄' } as const;

/** The services view. */
export function ServicesView({
  nat,
  changes,
  flows,
  flowsVersion,
  filtered,
  onPickService,
}: ServicesViewProps) {
  // biome-ignore lint/correctness/useExhaustiveDependencies: the map changes in place; flowsVersion stands for its content.
  const counts = useMemo(() => countByFrontend(flows.values()), [flows, flowsVersion]);
  const frontends = useMemo(() => {
    const list = [...(nat?.frontends ?? [])];
    // Services with bad flows first, then by name.
    return list.sort(
      (a, b) =>
        (counts.get(b.key)?.bad ?? 0) - (counts.get(a.key)?.bad ?? 0) ||
        (a.service ?? a.key).localeCompare(b.service ?? b.key),
    );
  }, [nat, counts]);

  return (
    <div className="services">
      <section className="panel" aria-label="Services in the current NAT snapshot">
        <h2 className="section-title">
          Services{' '}
          {nat && (
            <span className="muted small">
              snapshot {nat.hash} ({nat.source}) since {formatDateTime(nat.since)} · {nat.frontends.length}{' '}
              frontends
            </span>
          )}
        </h2>
        {filtered && <p className="muted small">Flow counts cover the flows matching the current filter.</p>}
        {!nat ? (
          <p className="muted">No NAT snapshot yet.</p>
        ) : (
          <table className="svc-table">
            <thead>
              <tr>
                <th scope="col">Service</th>
                <th scope="col">Frontend</th>
                <th scope="col">Endpoints</th>
                <th scope="col">Bad flows</th>
                <th scope="col">Live flows</th>
              </tr>
            </thead>
            <tbody>
              {frontends.map((f) => {
                const c = counts.get(f.key);
                const name = f.service ?? f.key;
                return (
                  <tr
                    key={f.key}
                    className={c?.critical ? 'svc-critical' : c?.bad ? 'svc-warning' : undefined}
                    data-frontend={f.key}
                  >
                    <th scope="row">
                      <button
                        type="button"
                        className="link"
                        onClick={() => onPickService(name)}
                        title="Show this service's flows"
                      >
                        {name}
                      </button>
                    </th>
                    <td className="mono">
                      {formatHostPort(f.ip, f.port)}/{f.proto} <span className="muted">{f.kind}</span>
                    </td>
                    <td className="mono">
                      {f.endpoints.length ? (
                        <>
                          <span aria-hidden="true">→ </span>
                          {formatEndpoints(f.endpoints)}
                        </>
                      ) : (
                        <span className="warn-text">
                          <span aria-hidden="true">⚠ </span>no endpoints
                          {f.noEndpointsRule ? ' (REJECT rule)' : ''}
                        </span>
                      )}
                      {f.drops?.map((d) => (
                        <span key={d.rule} className="blocked-note" title={d.rule}>
                          {' '}
                          <span aria-hidden="true">⊘ </span>
                          {d.kind === 'source-ranges' ? 'source ranges' : 'no local endpoint'}
                        </span>
                      ))}
                    </td>
                    <td>
                      {c?.bad ? (
                        <span className={c.critical ? 'crit-text' : 'warn-text'}>
                          <span aria-hidden="true">{c.critical ? '✖ ' : '⚠ '}</span>
                          {c.bad}{' '}
                          <span className="small">
                            (
                            {Object.entries(c.byVerdict)
                              .filter(([v]) => v !== 'ok')
                              .map(([v, n]) => `${n} ${VERDICT_LABEL[v as keyof typeof VERDICT_LABEL]}`)
                              .join(', ')}
                            {c.keptAlive ? `; ${c.keptAlive} kept alive` : ''})
                          </span>
                        </span>
                      ) : (
                        <span className="muted">0</span>
                      )}
                    </td>
                    <td>{c?.total ?? 0}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </section>
      <section className="panel" aria-label="NAT change history">
        <h2 className="section-title">Change history</h2>
        {changes.length === 0 ? (
          <p className="muted">No changes seen.</p>
        ) : (
          <ol className="changes" reversed>
            {[...changes].reverse().map((c) => (
              <li key={`${c.t}-${c.to}`}>
                <div className="muted small mono">
                  {formatClock(c.t)} · {c.from} → {c.to}
                </div>
                <ul>
                  {describeNatChange(c).map((l) => (
                    <li key={`${l.service}|${l.kind}|${l.text}`} className={`change change-${l.kind}`}>
                      <span aria-hidden="true">{KIND_ICON[l.kind]} </span>
                      <strong>{l.service}</strong> {l.text}
                    </li>
                  ))}
                </ul>
              </li>
            ))}
          </ol>
        )}
      </section>
    </div>
  );
}
