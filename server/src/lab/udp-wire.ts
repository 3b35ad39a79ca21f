/**
 * The lab's DNS-like UDP exchange, the clients' log format and the responders' ready line (pure).
 *
 * A query is `CTQ <id> <client>`; the responder answers `CTA <id> <pod>`. Like DNS, the client only accepts an
 * answer with its query's id that comes from the address it asked (the service VIP), so an answer that was
 * not un-NATed by the node is not an answer.
 */

export function encodeQuery(id: number, client: string): Buffer {
  return Buffer.from(`CTQ ${id} ${client}`);
}

/** The query's id, or undefined for anything else. */
export function decodeQuery(msg: Buffer): number | undefined {
  const m = /^CTQ (\d{1,10}) \S+$/.exec(msg.toString('latin1'));
  return m ? Number(m[1]) : undefined;
}

export function encodeAnswer(id: number, pod: string): Buffer {
  return Buffer.from(`CTA ${id} ${pod}`);
}

export function decodeAnswer(msg: Buffer): { id: number; pod: string } | undefined {
  const m = /^CTA (\d{1,10}) (\S+)$/.exec(msg.toString('latin1'));
  return m ? { id: Number(m[1]), pod: m[2]! } : undefined;
}

/** The line a responder logs once all its sockets are bound: `2026-11-26T11:00:00.000Z ready port=53`. */
export function formatResponderReady(at: number, port: number): string {
  return `${new Date(at).toISOString()} ready port=${port}`;
}

const READY_LINE = /^(\S+Z) ready port=\d+$/;

/** When a responder's log says it answers on every socket (IPv4 and IPv6), or undefined while it does not. */
export function responderReadyAt(text: string): number | undefined {
  for (const line of text.split('\n')) {
    const m = READY_LINE.exec(line.trim());
    if (m) return Date.parse(m[1]!);
  }
  return undefined;
}

/** One line of a client log: one line per query interval (1 s by default). */
export interface ClientLogLine {
  /** When the query was sent, ms since the epoch. */
  at: number;
  ok: number;
  fail: number;
  /** Source port used (the fixed port, or the last random one). */
  sport: number;
  /** Pod that answered, or `-`. */
  from: string;
}

/** `2026-11-26T11:00:00.000Z ok=1 fail=0 sport=52001 from=dns-a` */
export function formatClientLogLine(l: ClientLogLine): string {
  return `${new Date(l.at).toISOString()} ok=${l.ok} fail=${l.fail} sport=${l.sport} from=${l.from}`;
}

const LOG_LINE = /^(\S+Z) ok=(\d+) fail=(\d+) sport=(\d+) from=(\S+)$/;

/** Parse a client log; other lines (start-up messages) are skipped. */
export function parseClientLog(text: string): ClientLogLine[] {
  const out: ClientLogLine[] = [];
  for (const line of text.split('\n')) {
    const m = LOG_LINE.exec(line.trim());
    if (!m) continue;
    out.push({
      at: Date.parse(m[1]!),
      ok: Number(m[2]),
      fail: Number(m[3]),
      sport: Number(m[4]),
      from: m[5]!,
    });
  }
  return out;
}
