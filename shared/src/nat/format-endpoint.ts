/** Address:port formatting shared by explanations, remedies and UIs (brackets IPv6). */
import type { Endpoint } from './nat-types.js';

/** `ip:port`, with `[ip]:port` for IPv6. */
export function formatHostPort(ip: string, port: number | undefined): string {
  const host = ip.includes(':') ? `[${ip}]` : ip;
  return port === undefined ? host : `${host}:${port}`;
}

/** Comma-separated endpoint list, or `none`. */
export function formatEndpoints(endpoints: readonly Endpoint[]): string {
  if (endpoints.length === 0) return 'none';
  return endpoints.map((e) => formatHostPort(e.ip, e.port)).join(', ');
}
