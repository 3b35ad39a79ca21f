/** Names what a NAT change did to each service: timeline markers and the services view's history share it. */

import { formatEndpoints, formatHostPort } from './format-endpoint.js';
import type { Frontend, NatChange } from './nat-types.js';

/** One service's part of a NAT change. */
export interface NatChangeLine {
  /** Service name, or the frontend key when the rules carry no name. */
  service: string;
  kind: 'added' | 'removed' | 'changed';
  text: string;
}

const name = (f: { service?: string; key: string }) => f.service ?? f.key;
const addr = (f: Frontend) => `${formatHostPort(f.ip, f.port)}/${f.proto}`;

/** One line per affected service. */
export function describeNatChange(change: NatChange): NatChangeLine[] {
  const out: NatChangeLine[] = [];
  for (const f of change.diff.removedFrontends) {
    out.push({ service: name(f), kind: 'removed', text: `rules removed for ${addr(f)}` });
  }
  for (const f of change.diff.addedFrontends) {
    out.push({
      service: name(f),
      kind: 'added',
      text: `rules added for ${addr(f)} → ${formatEndpoints(f.endpoints)}`,
    });
  }
  for (const c of change.diff.changedFrontends) {
    const parts: string[] = [];
    if (c.addedEndpoints.length) parts.push(`+ ${formatEndpoints(c.addedEndpoints)}`);
    if (c.removedEndpoints.length) parts.push(`− ${formatEndpoints(c.removedEndpoints)}`);
    out.push({ service: c.service ?? c.key, kind: 'changed', text: `endpoints ${parts.join(', ')}` });
  }
  return out;
}
