/** REST and WebSocket addresses for the ctscope server, carrying the page's `?token=` on every call. */

/** A non-2xx answer, with the server's message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

const TOKEN_KEY = 'ctscope.token';

function tokenIn(search: string): string | undefined {
  return new URLSearchParams(search).get('token') || undefined;
}

/**
 * The token from `?token=`, moved into this tab's session storage and out of the address bar (so it is not left
 * in history, bookmarks or screenshots); on a reload without it, the stored one.
 */
export function takeToken(
  loc: Pick<Location, 'search' | 'href'>,
  storage: Pick<Storage, 'getItem' | 'setItem'>,
  history: Pick<History, 'replaceState' | 'state'>,
): string | undefined {
  const fromUrl = tokenIn(loc.search);
  if (fromUrl) {
    try {
      storage.setItem(TOKEN_KEY, fromUrl);
    } catch {
      // Storage disabled: the token lives only in memory for this page.
    }
    const u = new URL(loc.href);
    u.searchParams.delete('token');
    history.replaceState(history.state, '', u.toString());
    return fromUrl;
  }
  try {
    return storage.getItem(TOKEN_KEY) || undefined;
  } catch {
    return undefined;
  }
}

/** Typed fetch wrapper with the token. */
export class ApiClient {
  /** `origin` like `http://127.0.0.1:7474`; `token` from the page's own URL. */
  constructor(
    readonly origin: string,
    readonly token?: string,
  ) {}

  /** The client for the page's own location: same origin, token from `?token=` or this tab's session storage. */
  static fromLocation(
    loc: Pick<Location, 'origin' | 'search' | 'href'>,
    keep?: {
      storage: Pick<Storage, 'getItem' | 'setItem'>;
      history: Pick<History, 'replaceState' | 'state'>;
    },
  ): ApiClient {
    return new ApiClient(loc.origin, keep ? takeToken(loc, keep.storage, keep.history) : tokenIn(loc.search));
  }

  url(path: string, query: Record<string, string | number | undefined> = {}): string {
    const u = new URL(path, this.origin);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) u.searchParams.set(k, String(v));
    return u.toString();
  }

  /** `/ws` address; the token goes in the query because browsers cannot set WebSocket headers. */
  wsUrl(query: Record<string, string | number | undefined>): string {
    const u = new URL(this.url('/ws', { ...query, token: this.token }));
    u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
    return u.toString();
  }

  private async request(
    method: string,
    path: string,
    body?: unknown,
    signal?: AbortSignal,
  ): Promise<Response> {
    const headers: Record<string, string> = {};
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(this.url(path), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
    if (!res.ok) {
      let message = `${res.status} ${res.statusText}`;
      try {
        const j = (await res.json()) as { message?: string };
        if (j.message) message = j.message;
      } catch {
        // Not JSON: keep the status line.
      }
      throw new ApiError(res.status, message);
    }
    return res;
  }

  async get<T>(path: string, signal?: AbortSignal): Promise<T> {
    return (await (await this.request('GET', path, undefined, signal)).json()) as T;
  }

  async post<T>(path: string, body: unknown): Promise<T> {
    return (await (await this.request('POST', path, body)).json()) as T;
  }

  /** DELETE; error answers are returned as values because the page shows their message. */
  async del<T>(path: string): Promise<{ status: number; body: T }> {
    const headers: Record<string, string> = {};
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    const res = await fetch(this.url(path), { method: 'DELETE', headers });
    return { status: res.status, body: (await res.json().catch(() => ({}))) as T };
  }

  /** The raw bytes (a recording segment may be gzip). */
  async blob(path: string, signal?: AbortSignal): Promise<Blob> {
    return (await this.request('GET', path, undefined, signal)).blob();
  }
}
