/** Verdict and severity as icon + words, never colour alone. */
import type { Severity, Verdict } from '@ctscope/shared';
import { SEVERITY_LABEL, VERDICT_LABEL } from '../domain/format.js';

/** `compact` keeps the severity word for screen readers only; the icon still differs per severity. */
export function VerdictBadge({
  verdict,
  severity,
  large = false,
  compact = false,
}: {
  verdict: Verdict;
  severity: Severity;
  large?: boolean;
  compact?: boolean;
}) {
  const s = SEVERITY_LABEL[severity];
  // Blocked is severity ok but not "fine": its own glyph, so it never reads as a tick.
  const icon = verdict === 'blocked' ? '⊘' : s.icon;
  return (
    <span
      className={`badge sev-${severity} verdict-${verdict}${large ? ' badge-large' : ''}`}
      title={`${VERDICT_LABEL[verdict]} (${s.text})`}
    >
      <span aria-hidden="true" className="badge-icon">
        {icon}
      </span>
      <span className="badge-verdict">{VERDICT_LABEL[verdict]}</span>
      {severity !== 'ok' && <span className={compact ? 'sr-only' : 'badge-sev'}>{s.text}</span>}
    </span>
  );
}
