/** Scheduling for the `conntrack -E` listener: SCHED_FIFO where CAP_SYS_NICE allows, else the best nice level. */
import type { ListenerPriority } from '@ctscope/shared';
import { execa } from 'execa';

/**
 * SCHED_FIFO priority of the listener. Low on purpose: above every normal task, so it is never starved by the
 * flood's own softirq work or by ctscope, but below the kernel's RT threads (watchdogs, IRQ threads at 50).
 */
export const LISTENER_FIFO_PRIORITY = 10;

/** Shown when the listener runs at default priority. */
export const NOT_PRIORITISED = 'listener not prioritised: expect event loss above a few thousand flows/s';

const fifoProbes = new Map<string, Promise<boolean>>();

/**
 * Whether `chrt -f PRIO` works here (CAP_SYS_NICE, an RT budget in this cgroup, and `chrt` installed). Probed
 * once per PATH: none of it changes while ctscope runs, and a restart of the tail must not wait for a probe.
 */
export function canUseFifo(): Promise<boolean> {
  const key = process.env.PATH ?? '';
  const cached = fifoProbes.get(key);
  if (cached) return cached;
  const probe = execa('chrt', ['-f', String(LISTENER_FIFO_PRIORITY), 'true'], {
    reject: false,
    stdin: 'ignore',
    timeout: 5000,
  }).then((r) => r.exitCode === 0);
  fifoProbes.set(key, probe);
  return probe;
}

export function fifoPriority(): ListenerPriority {
  return {
    mode: 'fifo',
    level: LISTENER_FIFO_PRIORITY,
    text: `SCHED_FIFO ${LISTENER_FIFO_PRIORITY} (chrt -f ${LISTENER_FIFO_PRIORITY})`,
  };
}

export function defaultPriority(why?: string): ListenerPriority {
  return { mode: 'default', text: why ? `${NOT_PRIORITISED} (${why})` : NOT_PRIORITISED };
}

/** The command that runs `conntrack ARGS` under `priority` (argument arrays only). */
export function prioritisedCommand(
  priority: ListenerPriority,
  cmd: string,
  args: readonly string[],
): [string, string[]] {
  return priority.mode === 'fifo'
    ? ['chrt', ['-f', String(priority.level ?? LISTENER_FIFO_PRIORITY), cmd, ...args]]
    : [cmd, [...args]];
}

export function nicePriority(level: number): ListenerPriority {
  return {
    mode: 'nice',
    level,
    text: `nice ${level} (SCHED_FIFO not allowed; grant CAP_SYS_NICE for it)`,
  };
}
