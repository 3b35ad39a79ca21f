/** Original and reply tuples; in the reply, the wrong fields are marked (`data-bad`) with the expected endpoints beside. */
import { type FlowReport, formatEndpoints, formatHostPort } from '@ctscope/shared';

const host = (ip: string) => (ip.includes(':') ? `[${ip}]` : ip);

/**
 * The arrow between two ends, announced as "to". One element, not a hidden " to " beside it: the tuple copies
 * as `a → b`, and no visually hidden box sits in a tight table cell.
 */
function Arrow() {
  return (
    <span className="arrow" role="img" aria-label="to">
      {' → '}
    </span>
  );
}

/**
 * `src:sport → dst:dport` (protocol shown unless UDP). `stacked` puts the destination on a second line, so an
 * IPv6 tuple fits a table column whole instead of losing its destination to an ellipsis.
 */
export function OrigTuple({ flow, stacked = false }: { flow: FlowReport; stacked?: boolean }) {
  const o = flow.orig;
  return (
    <span className={stacked ? 'tuple tuple-stacked' : 'tuple'}>
      <span className="tuple-src">{formatHostPort(o.src, o.sport)}</span>
      <span className="tuple-dst">
        <Arrow />
        {formatHostPort(o.dst, o.dport)}
        {o.proto !== 'udp' && <span className="proto"> {o.proto}</span>}
      </span>
    </span>
  );
}

function Field({ value, bad, why }: { value: string; bad: string | undefined; why: string }) {
  if (!bad) return <>{value}</>;
  return (
    <mark className="bad-field" data-bad={bad} title={why}>
      <span aria-hidden="true">✗ </span>
      {value}
      <span className="sr-only"> (wrong: {why})</span>
    </mark>
  );
}

/** The reply tuple with `data-bad` marks and the expected endpoints. */
export function ReplyTuple({ flow, showExpected = true }: { flow: FlowReport; showExpected?: boolean }) {
  const r = flow.reply;
  const badSrc = flow.badFields.includes('reply.src') ? 'reply.src' : undefined;
  const badPort = flow.badFields.includes('reply.sport') ? 'reply.sport' : undefined;
  const expected = formatEndpoints(flow.expectedEndpoints);
  const why =
    flow.verdict === 'no-dnat'
      ? `the service address itself, never translated; expected ${expected}`
      : `not a current endpoint; expected ${expected}`;
  return (
    <span className="reply">
      <span className="tuple">
        <Field value={host(r.src)} bad={badSrc} why={why} />
        {r.sport !== undefined && (
          <>
            :<Field value={String(r.sport)} bad={badPort} why={why} />
          </>
        )}
        <Arrow />
        {host(r.dst)}
        {r.dport !== undefined && `:${r.dport}`}
      </span>
      {showExpected && (badSrc || badPort) && (
        <span className="expected" title="endpoints the service translates to now">
          <span aria-hidden="true">⇒ </span>expected {expected}
        </span>
      )}
    </span>
  );
}
