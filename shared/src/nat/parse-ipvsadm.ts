/**
 * Parse `ipvsadm -Ln` (kube-proxy's IPVS mode) into a NAT snapshot. Every virtual service becomes a
 * `cluster-ip` frontend: IPVS lists ClusterIPs, external IPs and node-IP NodePorts alike, with no names.
 * Real servers with weight 0 (terminating endpoints) are kept: existing flows still go to them.
 */
import { frontendKey, makeSnapshot, normalizeIp } from './nat-snapshot.js';
import type { Endpoint, Frontend, NatSnapshot } from './nat-types.js';

const SERVICE_LINE = /^(TCP|UDP|SCTP)\s+(\S+)\s+\S+/;
const FWM_LINE = /^FWM\s+(\S+)/;
const DEST_LINE = /^\s+->\s+(\S+)\s+\S+\s+-?\d+\s+\d+\s+\d+/;
const HEADER_LINE = /^(?:IP Virtual Server version|Prot LocalAddress:Port|\s+->\s+RemoteAddress:Port)/;
const MAX_QUOTED = 120;

/** `10.43.0.10:53` or `[fd00::a]:53` as printed by `-n`; undefined for names (output without `-n`). */
function parseAddrPort(raw: string): Endpoint | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|(\d{1,3}(?:\.\d{1,3}){3})):(\d{1,5})$/.exec(raw);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return undefined;
  return { ip: normalizeIp((m[1] ?? m[2])!), port };
}

function quote(line: string): string {
  return line.length > MAX_QUOTED ? `${line.slice(0, MAX_QUOTED)}…` : line;
}

/** Parse `ipvsadm -Ln`. FWM (firewall-mark) services cannot be mapped to an address and are skipped with a warning. Never throws. */
export function parseIpvsadm(text: string, options?: { takenAt?: number }): NatSnapshot {
  const warnings: string[] = [];
  const frontends: Frontend[] = [];
  // undefined: destinations before any service; null: destinations of a skipped service.
  let current: Frontend | null | undefined;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const lineNo = i + 1;
    if (line.trim() === '' || HEADER_LINE.test(line)) continue;
    const svc = SERVICE_LINE.exec(line);
    if (svc) {
      const addr = parseAddrPort(svc[2]!);
      if (!addr) {
        warnings.push(
          `line ${lineNo}: virtual service address is not numeric ip:port (use -n): ${quote(line)}`,
        );
        current = null;
        continue;
      }
      const proto = svc[1]!.toLowerCase();
      current = {
        key: frontendKey(proto, addr.ip, addr.port),
        kind: 'cluster-ip',
        ip: addr.ip,
        port: addr.port,
        proto,
        endpoints: [],
      };
      frontends.push(current);
      continue;
    }
    const fwm = FWM_LINE.exec(line);
    if (fwm) {
      warnings.push(`line ${lineNo}: firewall-mark service FWM ${fwm[1]} has no address; skipped`);
      current = null;
      continue;
    }
    const dest = DEST_LINE.exec(line);
    if (dest) {
      if (current === null) continue;
      const ep = parseAddrPort(dest[1]!);
      if (current === undefined)
        warnings.push(`line ${lineNo}: real server before any virtual service: ${quote(line)}`);
      else if (!ep)
        warnings.push(`line ${lineNo}: real server address is not numeric ip:port: ${quote(line)}`);
      else current.endpoints.push(ep);
      continue;
    }
    warnings.push(`line ${lineNo}: unrecognised line: ${quote(line)}`);
  }
  return makeSnapshot('ipvs', frontends, warnings, options?.takenAt);
}
