/** Filter controls for the flow table: verdicts, severities, service, address, port, free text. */
import type { FlowFilter, Severity, Verdict } from '@ctscope/shared';
import { isEmptyFilter, SEVERITIES, VERDICTS } from '@ctscope/shared';
import { forwardRef } from 'react';
import { SEVERITY_LABEL, VERDICT_LABEL } from '../domain/format.js';

/** Filter state plus the counts shown beside the controls. */
export interface FlowFiltersProps {
  filter: FlowFilter;
  onFilter: (f: FlowFilter) => void;
  shown: number;
  held: number;
  bad: number;
  truncated: boolean;
}

function toggle<T>(list: T[] | undefined, v: T): T[] | undefined {
  const cur = list ?? [];
  const next = cur.includes(v) ? cur.filter((x) => x !== v) : [...cur, v];
  return next.length ? next : undefined;
}

/** The filter bar; the ref is the free-text box (focused by `/`). */
export const FlowFilters = forwardRef<HTMLInputElement, FlowFiltersProps>(function FlowFilters(
  { filter, onFilter, shown, held, bad, truncated },
  textRef,
) {
  const set = (patch: Partial<FlowFilter>) => {
    const next: FlowFilter = { ...filter, ...patch };
    for (const k of Object.keys(next) as Array<keyof FlowFilter>)
      if (next[k] === undefined || next[k] === '') delete next[k];
    onFilter(next);
  };
  return (
    <section className="filters" aria-label="Flow filters">
      <fieldset className="chips">
        <legend className="sr-only">Verdict</legend>
        {VERDICTS.map((v: Verdict) => (
          <button
            key={v}
            type="button"
            className={`chip verdict-chip v-${v}${filter.verdict?.includes(v) ? ' chip-on' : ''}`}
            aria-pressed={filter.verdict?.includes(v) ?? false}
            onClick={() => set({ verdict: toggle(filter.verdict, v) })}
          >
            {VERDICT_LABEL[v]}
          </button>
        ))}
      </fieldset>
      <fieldset className="chips">
        <legend className="sr-only">Severity</legend>
        {SEVERITIES.map((s: Severity) => (
          <button
            key={s}
            type="button"
            className={`chip sev-chip sev-${s}${filter.severity?.includes(s) ? ' chip-on' : ''}`}
            aria-pressed={filter.severity?.includes(s) ?? false}
            onClick={() => set({ severity: toggle(filter.severity, s) })}
          >
            <span aria-hidden="true">{SEVERITY_LABEL[s].icon} </span>
            {SEVERITY_LABEL[s].text}
          </button>
        ))}
      </fieldset>
      <label className="field">
        <span>Service</span>
        <input
          type="search"
          value={filter.service ?? ''}
          placeholder="ns/name"
          onChange={(e) => set({ service: e.target.value || undefined })}
        />
      </label>
      <label className="field">
        <span>IP</span>
        <input
          type="search"
          value={filter.ip ?? ''}
          placeholder="any tuple address"
          size={14}
          onChange={(e) => set({ ip: e.target.value.trim() || undefined })}
        />
      </label>
      <label className="field field-port">
        <span>Port</span>
        <input
          type="number"
          min={0}
          max={65535}
          value={filter.port ?? ''}
          onChange={(e) => {
            const n = e.target.value === '' ? undefined : Number(e.target.value);
            set({ port: n !== undefined && Number.isInteger(n) && n >= 0 && n <= 65535 ? n : undefined });
          }}
        />
      </label>
      <label className="field field-text">
        <span>Search</span>
        <input
          ref={textRef}
          type="search"
          value={filter.text ?? ''}
          placeholder="text (press /)"
          onChange={(e) => set({ text: e.target.value || undefined })}
        />
      </label>
      {!isEmptyFilter(filter) && (
        <button type="button" className="btn btn-quiet" onClick={() => onFilter({})}>
          Clear filters
        </button>
      )}
      <span className="filter-count" aria-live="polite">
        <strong>{shown.toLocaleString()}</strong> shown of {held.toLocaleString()} held
        {bad > 0 && (
          <>
            {' · '}
            <span className="crit-text">
              <span aria-hidden="true">✖ </span>
              {bad} bad
            </span>
          </>
        )}
        {truncated && (
          <span title="The server holds more flows than it sent: sort worst first (with a live time window) to scroll through all of them, or narrow the filter">
            {' '}
            · truncated
          </span>
        )}
      </span>
    </section>
  );
});
