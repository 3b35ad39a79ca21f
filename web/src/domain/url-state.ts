/**
 * The view state a shared link carries: filters, time window, sort, view, theme, kiosk, selection and replay
 * position. Parsing is lenient (bad values fall back to defaults); unknown parameters such as `token` are kept.
 */
import { type FlowFilter, SEVERITIES, VERDICTS } from '@ctscope/shared';

/** Main area content. */
export type View = 'flows' | 'services';
/** Colour scheme. */
export type Theme = 'dark' | 'light';

/** A window that follows the data clock, or a fixed range picked by brushing or zooming. */
export type TimeWindow = { kind: 'follow'; spanMs: number } | { kind: 'fixed'; from: number; to: number };

/** Table sort keys (`worst` is the server's worst-first order). */
export type SortKey = 'worst' | 'orig' | 'reply' | 'service' | 'verdict' | 'age' | 'expires' | 'kept';
/** Sort key and direction. */
export interface SortState {
  key: SortKey;
  dir: 'asc' | 'desc';
}

/** Everything a shared link carries. */
export interface UrlState {
  view: View;
  kiosk: boolean;
  theme: Theme;
  filter: FlowFilter;
  window: TimeWindow;
  sort: SortState;
  /** Selected flow id (detail open). */
  flow?: string;
  /** Name of a server recording opened in the browser. */
  rec?: string;
  /** Replay position, ms. */
  at?: number;
}

/** Time presets in the order the UI shows them. */
export const PRESETS: ReadonlyArray<{ label: string; spanMs: number }> = [
  { label: '1m', spanMs: 60_000 },
  { label: '5m', spanMs: 300_000 },
  { label: '15m', spanMs: 900_000 },
  { label: '1h', spanMs: 3_600_000 },
];

/** Default window: 15 minutes. */
export const DEFAULT_SPAN_MS = 900_000;

const SORT_KEYS: readonly SortKey[] = [
  'worst',
  'orig',
  'reply',
  'service',
  'verdict',
  'age',
  'expires',
  'kept',
];

/** The view of a bare address. */
export function defaultUrlState(): UrlState {
  return {
    view: 'flows',
    kiosk: false,
    theme: 'dark',
    filter: {},
    window: { kind: 'follow', spanMs: DEFAULT_SPAN_MS },
    sort: { key: 'worst', dir: 'asc' },
  };
}

/** Parameters this module owns; everything else in the query string is passed through untouched. */
const OWNED = [
  'view',
  'kiosk',
  'theme',
  'verdict',
  'severity',
  'service',
  'ip',
  'port',
  'text',
  'win',
  'from',
  'to',
  'sort',
  'dir',
  'flow',
  'rec',
  'at',
];

function list<T extends string>(raw: string | null, allowed: readonly T[]): T[] | undefined {
  if (!raw) return undefined;
  const out = raw.split(',').filter((v): v is T => (allowed as readonly string[]).includes(v));
  return out.length > 0 ? out : undefined;
}

function int(raw: string | null, min: number, max: number): number | undefined {
  if (raw === null || raw === '' || !/^\d+$/.test(raw)) return undefined;
  const n = Number(raw);
  return n >= min && n <= max ? n : undefined;
}

/** `30s`, `5m`, `1h` → ms. */
export function parseSpan(raw: string | null): number | undefined {
  const m = raw ? /^(\d+)(s|m|h)$/.exec(raw) : null;
  if (!m) return undefined;
  const n = Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 's' | 'm' | 'h'];
  return n >= 10_000 && n <= 24 * 3_600_000 ? n : undefined;
}

/** ms → `30s`, `5m`, `1h`. */
export function formatSpan(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${Math.round(ms / 1000)}s`;
}

/** Read a query string; invalid values fall back to defaults. */
export function parseUrlState(search: string): UrlState {
  const p = new URLSearchParams(search);
  const d = defaultUrlState();
  const filter: FlowFilter = {};
  const verdict = list(p.get('verdict'), VERDICTS);
  if (verdict) filter.verdict = verdict;
  const severity = list(p.get('severity'), SEVERITIES);
  if (severity) filter.severity = severity;
  for (const k of ['service', 'ip', 'text'] as const) {
    const v = p.get(k);
    if (v) filter[k] = v.slice(0, 256);
  }
  const port = int(p.get('port'), 0, 65535);
  if (port !== undefined) filter.port = port;

  const from = int(p.get('from'), 0, Number.MAX_SAFE_INTEGER);
  const to = int(p.get('to'), 0, Number.MAX_SAFE_INTEGER);
  const window: UrlState['window'] =
    from !== undefined && to !== undefined && to > from
      ? { kind: 'fixed', from, to }
      : { kind: 'follow', spanMs: parseSpan(p.get('win')) ?? DEFAULT_SPAN_MS };

  const sortKey = p.get('sort') as SortKey | null;
  const state: UrlState = {
    view: p.get('view') === 'services' ? 'services' : d.view,
    kiosk: p.get('kiosk') === '1' || p.get('kiosk') === 'true',
    theme: p.get('theme') === 'light' ? 'light' : 'dark',
    filter,
    window,
    sort: {
      key: sortKey && SORT_KEYS.includes(sortKey) ? sortKey : d.sort.key,
      dir: p.get('dir') === 'desc' ? 'desc' : 'asc',
    },
  };
  const flow = p.get('flow');
  if (flow && /^[0-9A-Za-z|:.#_-]{1,200}$/.test(flow)) state.flow = flow;
  const rec = p.get('rec');
  if (rec && /^[A-Za-z0-9._-]{1,200}$/.test(rec)) state.rec = rec;
  const at = int(p.get('at'), 0, Number.MAX_SAFE_INTEGER);
  if (at !== undefined) state.at = at;
  return state;
}

/** Query string (with a leading `?`, or empty) for `state`, keeping `base`'s parameters this module does not own. */
export function serializeUrlState(state: UrlState, base = ''): string {
  const p = new URLSearchParams(base);
  for (const k of OWNED) p.delete(k);
  if (state.view !== 'flows') p.set('view', state.view);
  if (state.kiosk) p.set('kiosk', '1');
  if (state.theme !== 'dark') p.set('theme', state.theme);
  const f = state.filter;
  if (f.verdict?.length) p.set('verdict', f.verdict.join(','));
  if (f.severity?.length) p.set('severity', f.severity.join(','));
  if (f.service) p.set('service', f.service);
  if (f.ip) p.set('ip', f.ip);
  if (f.port !== undefined) p.set('port', String(f.port));
  if (f.text) p.set('text', f.text);
  if (state.window.kind === 'fixed') {
    p.set('from', String(Math.round(state.window.from)));
    p.set('to', String(Math.round(state.window.to)));
  } else if (state.window.spanMs !== DEFAULT_SPAN_MS) {
    p.set('win', formatSpan(state.window.spanMs));
  }
  if (state.sort.key !== 'worst' || state.sort.dir !== 'asc') {
    p.set('sort', state.sort.key);
    p.set('dir', state.sort.dir);
  }
  if (state.flow) p.set('flow', state.flow);
  if (state.rec) p.set('rec', state.rec);
  if (state.at !== undefined) p.set('at', String(Math.round(state.at)));
  const s = p.toString();
  return s ? `?${s}` : '';
}

/** The filter as the server's `/ws` and `/api/flows` query parameters. */
export function filterToQuery(f: FlowFilter): Record<string, string> {
  const q: Record<string, string> = {};
  if (f.verdict?.length) q.verdict = f.verdict.join(',');
  if (f.severity?.length) q.severity = f.severity.join(',');
  if (f.service) q.service = f.service;
  if (f.ip) q.ip = f.ip;
  if (f.port !== undefined) q.port = String(f.port);
  if (f.text) q.text = f.text;
  return q;
}
