import { describe, expect, it } from 'vitest';
import {
  expiresInS,
  flowAgeMs,
  formatCount,
  formatDuration,
  formatExpiry,
  formatOrig,
  formatPercent,
  formatRate,
  formatReply,
} from '../src/domain/format.js';
import { flow, incident } from './support/fixtures.js';

describe('formatting', () => {
  it('formats durations compactly', () => {
    expect(formatDuration(-5)).toBe('0ms');
    expect(formatDuration(850)).toBe('850ms');
    expect(formatDuration(42_000)).toBe('42s');
    expect(formatDuration(185_000)).toBe('3m 05s');
    expect(formatDuration(2 * 3_600_000 + 7 * 60_000)).toBe('2h 07m');
    expect(formatDuration(76 * 3_600_000)).toBe('3d 4h');
  });

  it('formats counts, percentages and rates', () => {
    expect(formatCount(12)).toBe('12');
    expect(formatCount(1234)).toBe('1.2k');
    expect(formatCount(45_678)).toBe('46k');
    expect(formatCount(262_144)).toBe('262k');
    expect(formatCount(1_300_000)).toBe('1.3M');
    expect(formatPercent(undefined)).toBe('–');
    expect(formatPercent(0)).toBe('0%');
    expect(formatPercent(16 / 262_144)).toBe('<0.01%');
    expect(formatPercent(0.042)).toBe('4.2%');
    expect(formatPercent(0.874)).toBe('87%');
    expect(formatRate(undefined)).toBe('–');
    expect(formatRate(2.345)).toBe('2.3/s');
    expect(formatRate(123.4, '')).toBe('123');
  });

  it('formats tuples, bracketing IPv6', () => {
    expect(formatOrig(incident())).toBe('10.42.0.33:52001 → 10.43.0.10:53');
    expect(formatReply(incident())).toBe('10.43.0.10:53 → 172.20.112.199:20978');
    const v6 = flow('6', { orig: { src: 'fd00::1', dst: 'fd00::a', sport: 1, dport: 53, proto: 'udp' } });
    expect(formatOrig(v6)).toBe('[fd00::1]:1 → [fd00::a]:53');
  });

  it('says when a flow expires: countdown, never (kept alive), or gone', () => {
    const f = flow('1', { timeout: 30, lastSeen: 10_000, createdAt: 4000 });
    expect(expiresInS(f, 15_000)).toBe(25);
    expect(formatExpiry(f, 15_000)).toBe('in 25s (of 30s)');
    expect(expiresInS(f, 99_000)).toBe(0);
    expect(formatExpiry(incident(), 15_000)).toBe('never: reset ×2');
    expect(formatExpiry(flow('2', { destroyedAt: 10_000 }), 15_000)).toBe('gone 5s ago');
    expect(flowAgeMs(f, 15_000)).toBe(11_000);
    expect(flowAgeMs(flow('3', { createdAt: undefined, firstSeen: 2000, destroyedAt: 3000 }), 15_000)).toBe(
      1000,
    );
  });
});
