/** This process's open descriptors whose target (the `/proc/self/fd` link) passes a test. */
import { readdirSync, readlinkSync } from 'node:fs';

export function openFds(matches: (target: string) => boolean): number[] {
  const out: number[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (matches(readlinkSync(`/proc/self/fd/${fd}`))) out.push(Number(fd));
    } catch {
      // Closed meanwhile.
    }
  }
  return out;
}
