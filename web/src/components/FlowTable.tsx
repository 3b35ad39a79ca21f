/**
 * The virtualized flow table (@tanstack/react-virtual): only visible rows are in the DOM, so 100k rows scroll
 * smoothly. Bad rows stand out by colour, icon and a left rule; their wrong reply fields are marked.
 */
import type { FlowReport } from '@ctscope/shared';
import { useVirtualizer } from '@tanstack/react-virtual';
import { memo, useEffect, useRef } from 'react';
import { flowAgeMs, formatDuration, formatExpiry, formatOrig, formatReply } from '../domain/format.js';
import type { SortKey, SortState } from '../domain/url-state.js';
import { OrigTuple, ReplyTuple } from './TupleText.js';
import { VerdictBadge } from './VerdictBadge.js';

/** Fixed row height, px: the virtualizer needs no measuring. */
export const ROW_HEIGHT = 46;
const HEADER_HEIGHT = 30;

const COLUMNS: ReadonlyArray<{ key: SortKey; label: string; className: string }> = [
  { key: 'verdict', label: 'Verdict', className: 'col-verdict' },
  { key: 'orig', label: 'Original tuple', className: 'col-orig' },
  { key: 'reply', label: 'Reply tuple (wrong fields marked)', className: 'col-reply' },
  { key: 'service', label: 'Service', className: 'col-service' },
  { key: 'age', label: 'Age', className: 'col-age' },
  { key: 'expires', label: 'Expires', className: 'col-expires' },
  { key: 'kept', label: 'Kept alive', className: 'col-kept' },
];

/** Rows already filtered and sorted, plus selection and sort callbacks. */
export interface FlowTableProps {
  rows: readonly FlowReport[];
  now: number;
  selectedId?: string;
  onSelect: (id: string | undefined) => void;
  sort: SortState;
  onSort: (s: SortState) => void;
}

/** The flow table; memoised, so it renders when its rows, clock or selection change. */
export const FlowTable = memo(function FlowTable({
  rows,
  now,
  selectedId,
  onSelect,
  sort,
  onSort,
}: FlowTableProps) {
  const scrollRef = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
    getItemKey: (i) => rows[i]?.id ?? i,
    // The sticky header covers the top of the scroll area.
    scrollPaddingStart: HEADER_HEIGHT,
  });
  const selectedIndex = selectedId ? rows.findIndex((r) => r.id === selectedId) : -1;

  useEffect(() => {
    if (selectedIndex >= 0) virtualizer.scrollToIndex(selectedIndex, { align: 'auto' });
  }, [selectedIndex, virtualizer]);

  const headerSort = (key: SortKey) => {
    if (sort.key === key) onSort({ key, dir: sort.dir === 'asc' ? 'desc' : 'asc' });
    else onSort({ key, dir: key === 'age' ? 'desc' : 'asc' });
  };

  return (
    <div className="flow-table">
      {sort.key !== 'worst' && (
        <button type="button" className="sort-reset" onClick={() => onSort({ key: 'worst', dir: 'asc' })}>
          worst first
        </button>
      )}
      <div ref={scrollRef} className="flow-body">
        <table
          className="ft"
          aria-label="Flows"
          aria-rowcount={rows.length + 1}
          aria-colcount={COLUMNS.length}
        >
          <thead className="ft-head">
            <tr className="flow-row flow-head" aria-rowindex={1}>
              {COLUMNS.map((c) => {
                const active = sort.key === c.key;
                return (
                  <th
                    key={c.key}
                    scope="col"
                    className={`cell ${c.className}`}
                    aria-sort={active ? (sort.dir === 'asc' ? 'ascending' : 'descending') : 'none'}
                  >
                    <button type="button" className="sort-btn" onClick={() => headerSort(c.key)}>
                      {c.label}
                      <span aria-hidden="true">{active ? (sort.dir === 'asc' ? ' ▲' : ' ▼') : ''}</span>
                    </button>
                  </th>
                );
              })}
            </tr>
          </thead>
          <tbody style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
            {virtualizer.getVirtualItems().map((v) => {
              const f = rows[v.index]!;
              return (
                <FlowRow
                  key={v.key}
                  f={f}
                  index={v.index}
                  start={v.start}
                  now={now}
                  selected={f.id === selectedId}
                  focusable={f.id === selectedId || (selectedIndex < 0 && v.index === 0)}
                  onSelect={onSelect}
                />
              );
            })}
          </tbody>
        </table>
        {rows.length === 0 && (
          <p className="empty muted">
            No flows match. Clear the filters, widen the time window, or wait for traffic.
          </p>
        )}
      </div>
    </div>
  );
});

interface FlowRowProps {
  f: FlowReport;
  index: number;
  start: number;
  now: number;
  selected: boolean;
  /** The row that takes Tab focus (roving tabindex). */
  focusable: boolean;
  onSelect: (id: string | undefined) => void;
}

/** One row; memoised so scrolling re-renders only the rows that enter the window. */
const FlowRow = memo(function FlowRow({ f, index, start, now, selected, focusable, onSelect }: FlowRowProps) {
  const bad = f.severity !== 'ok';
  return (
    <tr
      aria-rowindex={index + 2}
      aria-selected={selected}
      tabIndex={focusable ? 0 : -1}
      data-flow-id={f.id}
      data-verdict={f.verdict}
      data-severity={f.severity}
      className={`flow-row sev-row-${f.severity}${bad ? ' row-bad' : ''}${f.verdict === 'blocked' ? ' row-blocked' : ''}${selected ? ' row-selected' : ''}${f.destroyedAt !== undefined ? ' row-gone' : ''}`}
      style={{
        position: 'absolute',
        top: 0,
        left: 0,
        right: 0,
        height: ROW_HEIGHT,
        transform: `translateY(${start}px)`,
      }}
      onClick={() => onSelect(selected ? undefined : f.id)}
      onKeyDown={(e) => {
        if (e.key === 'Enter') onSelect(f.id);
      }}
    >
      <td className="cell col-verdict">
        <VerdictBadge verdict={f.verdict} severity={f.severity} compact />
      </td>
      <td className="cell col-orig mono" title={formatOrig(f)}>
        <OrigTuple flow={f} stacked />
      </td>
      <td className="cell col-reply mono" title={formatReply(f)}>
        <ReplyTuple flow={f} />
      </td>
      <td className="cell col-service" title={f.service}>
        {f.service ?? <span className="muted">–</span>}
        {f.createdDuringRuleGap && (
          <span className="tag tag-gap" title="Created while the service had no NAT rules">
            born in rule gap
          </span>
        )}
      </td>
      <td className="cell col-age mono">{formatDuration(flowAgeMs(f, now))}</td>
      <td
        className="cell col-expires"
        title={
          f.keptAlive
            ? `Its ${f.timeout}s timeout was reset ${f.timeoutResets}× while UNREPLIED: it never expires on its own`
            : undefined
        }
      >
        {formatExpiry(f, now)}
      </td>
      <td className="cell col-kept">
        {f.keptAlive ? (
          <span
            className="kept"
            title="UNREPLIED and its timeout keeps being reset: it will never expire on its own"
          >
            <span aria-hidden="true">↻ </span>yes
          </span>
        ) : (
          <span className="muted">no</span>
        )}
      </td>
    </tr>
  );
});
