/** One node on the wall: its state in colour and icon, critical/warning flows, event loss, table fill, agent up. */
import type { FleetNode } from '@ctscope/shared';
import { formatCount, formatPercent } from '../domain/format.js';

const ICON: Record<FleetNode['status'], string> = { critical: '✖', down: '⊘', warning: '⚠', ok: '✓' };
const LABEL: Record<FleetNode['status'], string> = {
  critical: 'CRITICAL',
  down: 'AGENT DOWN',
  warning: 'warning',
  ok: 'ok',
};

function Stat({ label, value, level }: { label: string; value: string; level?: 'crit' | 'warn' }) {
  return (
    <div className={`fleet-stat${level ? ` fleet-stat-${level}` : ''}`}>
      <span className="fleet-stat-value">{value}</span>
      <span className="fleet-stat-label">{label}</span>
    </div>
  );
}

export function FleetTile({ node }: { node: FleetNode }) {
  const fill = node.tableFill ?? undefined;
  const body = (
    <>
      <div className="fleet-tile-head">
        <span className="fleet-tile-icon" aria-hidden="true">
          {ICON[node.status]}
        </span>
        <span className="fleet-tile-name">{node.node}</span>
        <span className="fleet-tile-state">{LABEL[node.status]}</span>
      </div>
      {node.status === 'critical' && (
        <div className="fleet-tile-big">
          {formatCount(node.critical)} critical flow{node.critical === 1 ? '' : 's'}
        </div>
      )}
      <div className="fleet-tile-stats">
        <Stat
          label="critical"
          value={formatCount(node.critical)}
          level={node.critical > 0 ? 'crit' : undefined}
        />
        <Stat
          label="warning"
          value={formatCount(node.warning)}
          level={node.warning > 0 ? 'warn' : undefined}
        />
        <Stat
          label="event loss 5m"
          value={formatCount(node.eventLoss)}
          level={node.eventLoss > 0 ? 'warn' : undefined}
        />
        <Stat
          label="table fill"
          value={fill === undefined ? '–' : formatPercent(fill)}
          level={fill !== undefined && fill > 0.9 ? 'warn' : undefined}
        />
        <Stat label="agent" value={node.up ? 'up' : 'DOWN'} level={node.up ? undefined : 'crit'} />
      </div>
    </>
  );
  const common = {
    className: `fleet-tile fleet-tile-${node.status}`,
    'data-node': node.node,
    'data-status': node.status,
    'aria-label': `${node.node}: ${LABEL[node.status]}, ${node.critical} critical, ${node.warning} warning flows`,
  };
  return node.url ? (
    <a {...common} href={node.url} target="_blank" rel="noopener noreferrer">
      {body}
    </a>
  ) : (
    <div {...common}>{body}</div>
  );
}
