/**
 * The virtualized flow table (@tanstack/react-virtual): only visible rows are in the DOM, so 100k rows scroll
 * smoothly; rows past the held window come from `more` (a placeholder until they arrive). Bad rows stand out
 * by colour, icon and a left rule; their wrong reply fields are marked.
 */
import type { FlowReport } from '@ctscope/shared';
import { useVirtualizer } from '@tanstack/react-virtual';
import { type CSSProperties, memo, useEffect, useRef } from 'react';
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

/** Rows after the held ones, which the server holds and sends on demand. */
export interface MoreRows {
  /** How many rows follow `rows`. */
  count: number;
  /** The i-th row after `rows`, once it arrived. */
  row: (i: number) => FlowReport | undefined;
  /** Changes when rows arrive, so the table renders them. */
  version: number;
  /** The table shows rows `[from, to)` after `rows` (empty when it shows none of them). */
  onShow: (from: number, to: number) => void;
}

/** Rows already filtered and sorted, plus selection and sort callbacks. */
export interface FlowTableProps {
  rows: readonly FlowReport[];
  /** Rows past `rows` (the table's scrollbar covers them all). */
  more?: MoreRows;
  now: number;
  selectedId?: string;
  onSelect: (id: string | undefined) => void;
  sort: SortState;
  onSort: (s: SortState) => void;
}

/** The flow table; memoised, so it renders when its rows, clock or selection change. */
export const FlowTable = memo(function FlowTable({
  rows,
  more,
  now,
  selectedId,
  onSelect,
  sort,
  onSort,
}: FlowTableProps) {
  const scrollRef = useRef<HTMLDivElement>(null);
  const held = rows.length;
  const count = held + (more?.count ?? 0);
  const rowAt = (i: number) => (i < held ? rows[i] : more?.row(i - held));
  const virtualizer = useVirtualizer({
    count,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
    // Rows past the window are keyed by position: a page may repeat a row the window also holds.
    getItemKey: (i) => (i < held ? (rows[i]?.id ?? i) : `more-${i}`),
    // The sticky header covers the top of the scroll area.
    scrollPaddingStart: HEADER_HEIGHT,
  });
  const selectedIndex = selectedId ? rows.findIndex((r) => r.id === selectedId) : -1;

  useEffect(() => {
    if (selectedIndex >= 0) virtualizer.scrollToIndex(selectedIndex, { align: 'auto' });
  }, [selectedIndex, virtualizer]);

  const items = virtualizer.getVirtualItems();
  const firstShown = items[0]?.index ?? 0;
  const lastShown = items[items.length - 1]?.index ?? -1;
  const onShow = more?.onShow;
  useEffect(() => {
    onShow?.(Math.max(0, firstShown - held), Math.max(0, lastShown + 1 - held));
  }, [onShow, firstShown, lastShown, held]);

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
        <table className="ft" aria-label="Flows" aria-rowcount={count + 1} aria-colcount={COLUMNS.length}>
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
            {items.map((v) => {
              const f = rowAt(v.index);
              if (!f) return <PendingRow key={v.key} index={v.index} start={v.start} />;
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
        {count === 0 && (
          <p className="empty muted">
            No flows match. Clear the filters, widen the time window, or wait for traffic.
          </p>
        )}
      </div>
    </div>
  );
});

/** Where a row past the window will show once the server's answer is in. */
function PendingRow({ index, start }: { index: number; start: number }) {
  return (
    <tr
      aria-rowindex={index + 2}
      aria-busy="true"
      data-pending-row={index}
      className="flow-row row-pending"
      style={rowStyle(start)}
    >
      <td className="cell muted" style={{ gridColumn: '1 / -1' }}>
        loading row {(index + 1).toLocaleString()}…
      </td>
    </tr>
  );
}

/** A virtual row's box: absolutely placed at `start` px, so only the rows on screen are in the DOM. */
function rowStyle(start: number): CSSProperties {
  return {
    position: 'absolute',
    top: 0,
    left: 0,
    right: 0,
    height: ROW_HEIGHT,
    transform: `translateY(${start}px)`,
  };
}

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
      style={rowStyle(start)}
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
