import { describe, expect, it } from 'vitest';
import { lifecycleLines, lifecycleText } from '../src/domain/lifecycle.js';
import { parseRecordingText } from '../src/domain/recording-file.js';
import { RecordingReplayer } from '../src/domain/recording-replayer.js';
import { SEED_TIMES, seedRecordingText } from './support/seed-recording.js';

const INCIDENT_ID = '137932478';

describe('in-browser recording classifier (seed incident)', () => {
  const rec = parseRecordingText(seedRecordingText());

  it('reads the recording in time order with its node name', () => {
    expect(rec.errors).toEqual([]);
    expect(rec.node).toBe('seed-node');
    expect(rec.start).toBe(SEED_TIMES.start);
    expect(rec.end).toBeGreaterThan(SEED_TIMES.firstDump);
  });

  it('flags the sport 52001 flow as no-dnat, critical, kept alive and born in the rule gap', () => {
    const r = new RecordingReplayer(rec);
    r.advanceTo(rec.end);
    const sync = r.sync(0);
    const f = sync.flows.find((x) => x.id === INCIDENT_ID);
    expect(f).toMatchObject({
      verdict: 'no-dnat',
      severity: 'critical',
      keptAlive: true,
      createdDuringRuleGap: true,
      service: 'kube-system/kube-dns:dns',
      badFields: ['reply.src', 'reply.sport'],
      expectedEndpoints: [{ ip: '172.20.112.199', port: 53 }],
      remedy: 'conntrack -D -p udp --orig-src 10.42.0.33 --orig-dst 10.43.0.10 --sport 52001 --dport 53',
    });
    expect(f?.orig.sport).toBe(52001);
    expect(f?.reply.src).toBe('10.43.0.10');
    // Worst first: the kept-alive critical flow leads.
    expect(sync.flows[0]?.id).toBe(INCIDENT_ID);
    // Random-port siblings from the gap are no-dnat but count down: not kept alive.
    for (const sport of [59807, 39068]) {
      expect(sync.flows.find((x) => x.orig.sport === sport)).toMatchObject({
        verdict: 'no-dnat',
        keptAlive: false,
      });
    }
  });

  it('marks the rule gap and the counter jump on the timeline, and counts bad flows', () => {
    const r = new RecordingReplayer(rec);
    r.advanceTo(rec.end);
    const sync = r.sync(0);
    const texts = sync.markers.map((m) => `${m.kind}: ${m.text}`);
    expect(texts).toContain('nat-change: kube-system/kube-dns:dns rules removed for 10.43.0.10:53/udp');
    expect(texts.some((t) => t.startsWith('nat-change: kube-system/kube-dns:dns rules added'))).toBe(true);
    expect(texts).toContain('counter-jump: insert_failed +3');
    const bad = sync.timeline.reduce((n, b) => n + (b.bad['no-dnat'] ?? 0), 0);
    expect(bad).toBeGreaterThanOrEqual(3);
    const events = sync.timeline.reduce((n, b) => n + b.events.NEW, 0);
    expect(events).toBeGreaterThan(10);
    expect(r.changes()).toHaveLength(2);
  });

  it('shows the state at the scrubbed time: nothing before the gap, the flow after it', () => {
    const r = new RecordingReplayer(rec);
    r.advanceTo(SEED_TIMES.rulesRemoved - 1);
    expect(r.sync(0).flows.some((f) => f.id === INCIDENT_ID)).toBe(false);
    expect(r.sync(0).flows.every((f) => f.verdict === 'ok')).toBe(true);
    r.advanceTo(rec.end);
    expect(r.sync(1).flows.find((f) => f.id === INCIDENT_ID)?.keptAlive).toBe(true);
    // Scrubbing back rebuilds from the start.
    expect(r.advanceTo(SEED_TIMES.start)).toBe(true);
    expect(r.sync(2).flows).toEqual([]);
  });

  it('emits deltas while playing forward, then the flow detail with lifecycle and rules', () => {
    const r = new RecordingReplayer(rec);
    r.advanceTo(SEED_TIMES.start);
    r.sync(0);
    r.advanceTo(SEED_TIMES.rulesBack);
    const d1 = r.takeDelta(1);
    expect(d1.upserts.find((f) => f.id === INCIDENT_ID)?.verdict).toBe('no-dnat');
    expect(d1.nat).toHaveLength(2);
    expect(d1.natView?.frontends[0]?.endpoints).toEqual([{ ip: '172.20.112.199', port: 53 }]);
    expect(r.takeDelta(2).upserts).toEqual([]);
    r.advanceTo(rec.end);
    const detail = r.detail(INCIDENT_ID);
    expect(detail?.history[0]?.event).toBe('NEW');
    expect(detail?.history.filter((h) => h.event === 'LIST').length).toBeGreaterThanOrEqual(4);
    expect(detail?.nat.atCreation?.frontend).toBeNull();
    expect(detail?.nat.current?.frontend?.endpoints).toEqual([{ ip: '172.20.112.199', port: 53 }]);
    expect(detail?.remedy).toContain('--sport 52001');
  });

  it('drops destroyed flows after the retention and rejects files with no records', () => {
    const r = new RecordingReplayer(rec, { destroyedRetentionMs: 1000 });
    r.advanceTo(rec.end);
    expect(r.reports().some((f) => f.orig.sport === 50836)).toBe(false);
    expect(() => parseRecordingText('garbage\n{"k":"line"}\n')).toThrow(/no records/);
    expect(() => parseRecordingText('{"k":"header","t":1,"v":9,"node":"n","writer":"w"}\n')).toThrow(/newer/);
  });

  it("replays auto-remedy: the marker, the flow's actions and lifecycle, and the ok successor", () => {
    const t = rec.end + 1000;
    const orig = { proto: 'udp', src: '10.42.0.33', dst: '10.43.0.10', sport: 52001, dport: 53 };
    const argv = ['conntrack', '-D', '-p', 'udp', '--orig-src', '10.42.0.33'];
    const extra = [
      { k: 'deleted', t, id: INCIDENT_ID, argv },
      {
        k: 'remedy',
        t,
        action: {
          t,
          flowId: INCIDENT_ID,
          result: 'deleted',
          orig,
          verdict: 'no-dnat',
          service: 'kube-system/kube-dns:dns',
          reason: 'stuck',
          argv,
        },
      },
      {
        k: 'line',
        t: t + 400,
        src: 'events',
        line: '    [NEW] ipv4     2 udp      17 30 src=10.42.0.33 dst=10.43.0.10 sport=52001 dport=53 [UNREPLIED] src=172.20.112.199 dst=10.42.0.33 sport=53 dport=52001 id=555',
      },
    ];
    const withRemedy = parseRecordingText(
      `${seedRecordingText()}${extra.map((r) => JSON.stringify(r)).join('\n')}\n`,
    );
    expect(withRemedy.errors).toEqual([]);
    const r = new RecordingReplayer(withRemedy);
    r.advanceTo(withRemedy.end);
    const marker = r.sync(0).markers.find((m) => m.kind === 'auto-remedy');
    expect(marker).toMatchObject({ flowId: INCIDENT_ID });
    expect(marker?.text).toBe(
      'auto-remedy deleted 10.42.0.33:52001 → 10.43.0.10:53 (kube-system/kube-dns:dns)',
    );
    const detail = r.detail(INCIDENT_ID);
    expect(detail?.flow.destroyedAt).toBe(t);
    expect(detail?.autoRemedy?.actions.map((a) => a.result)).toEqual(['deleted']);
    expect(detail?.autoRemedy?.successor).toMatchObject({ id: '555', verdict: 'ok' });
    const text = lifecycleText(lifecycleLines(detail!.history), detail?.autoRemedy?.actions);
    expect(text[text.length - 1]).toMatch(/\[AUTO\] +auto-remedy deleted 10\.42\.0\.33:52001/);
  });
});
