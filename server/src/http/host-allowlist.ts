/**
 * Which `Host` and `Origin` values a server without a token answers: loopback names and addresses plus the
 * configured `--allowed-host` names. This is what stops DNS rebinding: a hostile page whose name resolves to
 * 127.0.0.1 still sends its own name in `Host` and `Origin`.
 */
import { isIP } from 'node:net';

/** Host part of a `Host` header value (`name`, `name:port`, `[v6]:port`), lower-cased; undefined if malformed. */
export function hostOfHeader(value: string | undefined): string | undefined {
  if (!value || /[@/?#\\\s]/.test(value)) return undefined;
  try {
    // The WHATWG parser normalises case, IPv4 shorthands and IPv6 brackets the way browsers do.
    const h = new URL(`http://${value}`).hostname;
    return h.startsWith('[') ? h.slice(1, -1) : h;
  } catch {
    return undefined;
  }
}

/** Host part of an `Origin` header (`scheme://host[:port]`); undefined for `null` or anything unparsable. */
export function hostOfOrigin(origin: string): string | undefined {
  try {
    const h = new URL(origin).hostname;
    return h.startsWith('[') ? h.slice(1, -1) : h;
  } catch {
    return undefined;
  }
}

function isLoopbackHost(h: string): boolean {
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h.toLowerCase() === '::ffff:127.0.0.1';
  return false;
}

export class HostAllowlist {
  private readonly extra: Set<string>;

  constructor(allowed: readonly string[] = []) {
    this.extra = new Set(allowed.map((h) => hostOfHeader(h) ?? h.toLowerCase()));
  }

  /** Whether a request naming this `Host` is answered. Browsers always send one; a bare HTTP/1.0 client may not. */
  allowsHost(hostHeader: string | undefined): boolean {
    if (hostHeader === undefined) return true;
    const h = hostOfHeader(hostHeader);
    return h !== undefined && (isLoopbackHost(h) || this.extra.has(h));
  }

  /** Whether a browser page from this `Origin` may talk to us; no Origin at all means not a browser page. */
  allowsOrigin(origin: string | undefined): boolean {
    if (origin === undefined) return true;
    const h = hostOfOrigin(origin);
    return h !== undefined && (isLoopbackHost(h) || this.extra.has(h));
  }
}
