/** One flow: explanation, remedy (copy), delete (when allowed, confirmed), NAT at creation and now, lifecycle. */

import type { FlowDetail as Detail, NatAt } from '@ctscope/shared';
import { type FlowReport, type Frontend, formatEndpoints, formatHostPort } from '@ctscope/shared';
import { useEffect, useMemo, useState } from 'react';
import {
  flowAgeMs,
  formatClock,
  formatDateTime,
  formatDuration,
  formatExpiry,
  formatFrontendKey,
} from '../domain/format.js';
import { formatLifecycleLine, lifecycleLines } from '../domain/lifecycle.js';
import type { DeleteOutcome } from '../transport/dashboard-controller.js';
import { CommandText } from './CommandText.js';
import { ConfirmDialog } from './ConfirmDialog.js';
import { CopyButton } from './CopyButton.js';
import { LifecycleChart } from './LifecycleChart.js';
import { OrigTuple, ReplyTuple } from './TupleText.js';
import { VerdictBadge } from './VerdictBadge.js';

/** Inputs of the flow detail panel. */
export interface FlowDetailProps {
  id: string;
  /** The row as the table holds it, shown until (or if) the detail loads. */
  report?: FlowReport;
  load: (id: string, signal: AbortSignal) => Promise<Detail>;
  /** Changes whenever the detail should be fetched again. */
  refreshToken: number;
  now: number;
  allowDelete: boolean;
  onDelete: (id: string) => Promise<DeleteOutcome>;
  onClose: () => void;
}

/** The side panel for one flow. */
export function FlowDetail({
  id,
  report,
  load,
  refreshToken,
  now,
  allowDelete,
  onDelete,
  onClose,
}: FlowDetailProps) {
  const [detail, setDetail] = useState<Detail | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [confirming, setConfirming] = useState(false);
  const [outcome, setOutcome] = useState<DeleteOutcome | undefined>();

  // biome-ignore lint/correctness/useExhaustiveDependencies: refreshToken is the trigger to fetch again.
  useEffect(() => {
    const ac = new AbortController();
    load(id, ac.signal).then(
      (d) => {
        setDetail(d);
        setError(undefined);
      },
      (err: Error) => {
        if (!ac.signal.aborted) setError(err.message);
      },
    );
    return () => ac.abort();
  }, [id, load, refreshToken]);

  // The streamed row is newer than the fetched detail between refreshes.
  const f = report ?? detail?.flow;
  const lines = useMemo(() => (detail ? lifecycleLines(detail.history, detail.timeouts) : []), [detail]);

  return (
    <aside className="detail" aria-label={`Flow ${id}`}>
      <div className="detail-head">
        <h2 className="section-title">Flow {id}</h2>
        <button
          type="button"
          className="btn btn-quiet"
          onClick={onClose}
          aria-label="Close the flow detail (Esc)"
        >
          ✕
        </button>
      </div>
      {!f && <p className="muted">{error ?? 'Loading…'}</p>}
      {f && (
        <>
          <div className="detail-verdict">
            <VerdictBadge verdict={f.verdict} severity={f.severity} large />
            {f.keptAlive && (
              <span className="tag tag-kept">
                <span aria-hidden="true">↻ </span>kept alive: never expires on its own
              </span>
            )}
            {f.createdDuringRuleGap && <span className="tag tag-gap">born in a rule gap</span>}
            {f.destroyedAt !== undefined && (
              <span className="tag">destroyed {formatClock(f.destroyedAt)}</span>
            )}
          </div>
          <dl className="detail-tuples">
            <dt>Original</dt>
            <dd className="mono">
              <OrigTuple flow={f} />
            </dd>
            <dt>Reply</dt>
            <dd className="mono">
              <ReplyTuple flow={f} />
            </dd>
            <dt>Service</dt>
            <dd>
              {f.service ?? '–'}{' '}
              {f.frontend && <span className="muted mono">({formatFrontendKey(f.frontend)})</span>}
            </dd>
            <dt>Age</dt>
            <dd>
              {formatDuration(flowAgeMs(f, now))} · since {formatDateTime(f.createdAt ?? f.firstSeen)}
              {f.createdAt === undefined && (
                <span className="muted"> (first seen; it predates what was observed)</span>
              )}
            </dd>
            <dt>Timeout</dt>
            <dd>
              {formatExpiry(f, now)}
              {f.timeout !== undefined && f.destroyedAt === undefined ? ` · last read ${f.timeout}s` : ''}
              {f.unreplied ? ' · [UNREPLIED]' : ''}
              {f.assured ? ' · [ASSURED]' : ''}
            </dd>
          </dl>
          <section aria-label="Explanation">
            <h3 className="sub-title">Why</h3>
            <p className="reason">{f.reason}</p>
          </section>
          <section aria-label="Remedy" className="remedy">
            <h3 className="sub-title">Remedy</h3>
            {f.remedy ? (
              <>
                <pre className="remedy-cmd" data-remedy="">
                  <CommandText command={f.remedy} />
                </pre>
                <div className="remedy-actions">
                  <CopyButton text={f.remedy} label="Copy command" />
                  {allowDelete && f.destroyedAt === undefined && (
                    <button type="button" className="btn btn-danger" onClick={() => setConfirming(true)}>
                      Delete this entry…
                    </button>
                  )}
                </div>
                {outcome && (
                  <p className={outcome.ok ? 'ok-text' : 'crit-text'} role="status">
                    {outcome.ok ? '✓ ' : '✗ '}
                    {outcome.message}
                  </p>
                )}
              </>
            ) : f.verdict === 'blocked' ? (
              <p className="blocked-note" data-blocked="">
                No command: kube-proxy drops this traffic on purpose, so deleting the entry changes nothing.
                The reason above names the rule; look at the service's endpoint placement or its
                loadBalancerSourceRanges.
              </p>
            ) : (
              <p className="muted">
                No remedy: deleting this entry would not help
                {f.verdict === 'unanswered' ? ' (the backend is silent)' : ''}.
              </p>
            )}
          </section>
          <section aria-label="NAT rules" className="nat-compare">
            <h3 className="sub-title">
              NAT rules for {f.frontend ? (f.service ?? f.frontend) : 'this destination'}
            </h3>
            {detail ? (
              <div className="nat-pair">
                <NatBox
                  title="At creation"
                  nat={detail.nat.atCreation}
                  unknown="Unknown: the flow predates the first snapshot, or its NEW was not seen."
                />
                <NatBox title="Now" nat={detail.nat.current} unknown="No NAT snapshot yet." />
              </div>
            ) : (
              <p className="muted">{error ?? 'Loading…'}</p>
            )}
          </section>
          <section aria-label="Lifecycle" className="lifecycle">
            <h3 className="sub-title">Lifecycle</h3>
            {detail ? (
              <>
                <LifecycleChart lines={lines} now={f.destroyedAt ?? now} />
                <pre className="raw-lines">{lines.map((l) => formatLifecycleLine(l)).join('\n')}</pre>
                <p className="muted small">
                  N/U/D: NEW/UPDATE/DESTROY events; dots: timeout readings from dumps and polls; circled: the
                  timeout was reset (a client refreshed the entry; UDP refreshes emit no event).
                </p>
              </>
            ) : (
              <p className="muted">{error ?? 'Loading…'}</p>
            )}
          </section>
        </>
      )}
      {confirming && f?.remedy && (
        <ConfirmDialog
          title="Delete this conntrack entry?"
          confirmLabel="Delete entry"
          onCancel={() => setConfirming(false)}
          onConfirm={async () => {
            setConfirming(false);
            try {
              setOutcome(await onDelete(f.id));
            } catch (err) {
              setOutcome({ ok: false, message: (err as Error).message });
            }
          }}
        >
          <p>The server will run exactly:</p>
          <pre className="remedy-cmd">
            <CommandText command={f.remedy} />
          </pre>
          <p>The client's next packet creates a fresh entry, translated by the rules in force now.</p>
        </ConfirmDialog>
      )}
    </aside>
  );
}

function NatBox({ title, nat, unknown }: { title: string; nat: NatAt | null; unknown: string }) {
  return (
    <div className="nat-box">
      <h4>{title}</h4>
      {!nat ? (
        <p className="muted">{unknown}</p>
      ) : (
        <>
          <p className="muted small mono">
            snapshot {nat.hash}
            {nat.takenAt !== undefined ? ` · ${formatClock(nat.takenAt)}` : ''}
          </p>
          {nat.frontend ? (
            <FrontendRules f={nat.frontend} />
          ) : (
            <p className="warn-text">⚠ No rules for this frontend (a rule gap).</p>
          )}
        </>
      )}
    </div>
  );
}

function FrontendRules({ f }: { f: Frontend }) {
  return (
    <>
      <p className="mono">
        {formatHostPort(f.ip, f.port)}/{f.proto} <span aria-hidden="true">→</span>{' '}
        {f.endpoints.length ? (
          formatEndpoints(f.endpoints)
        ) : (
          <span className="warn-text">⚠ no endpoints</span>
        )}
      </p>
      {(f.drops ?? []).map((d) => (
        <p key={d.rule} className="blocked-note small" data-drop={d.kind}>
          <span aria-hidden="true">⊘ </span>
          {d.kind === 'source-ranges'
            ? `drops sources outside ${d.allowedSources?.join(', ') || 'every range'}`
            : 'drops: no local endpoint'}
          <span className="mono"> ({d.rule})</span>
        </p>
      ))}
    </>
  );
}
