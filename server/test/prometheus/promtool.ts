/** Test helpers around Debian's `promtool` and the repository's Prometheus files (deploy/prometheus/). */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';

export const REPO = join(import.meta.dirname, '..', '..', '..');
export const PROM_DIR = join(REPO, 'deploy', 'prometheus');
/** The plain rules file (rule_files) and its promtool unit-test files. */
export const PLAIN_RULES = join(PROM_DIR, 'plain', 'ctscope-rules.yaml');
export const PLAIN_RULES_TESTS = ['ctscope-critical.test.yaml', 'ctscope-rules.test.yaml'].map((f) =>
  join(PROM_DIR, 'plain', f),
);
/** The Prometheus Operator's PrometheusRule with the same groups. */
export const OPERATOR_RULES = join(PROM_DIR, 'rules.yaml');

const BIN_DIRS = ['/usr/bin', '/usr/local/bin', '/usr/sbin'];

/** Absolute path of a Prometheus binary (Debian's `prometheus` package), or undefined. */
export function promBinary(name: 'promtool' | 'prometheus'): string | undefined {
  return BIN_DIRS.map((d) => join(d, name)).find((p) => existsSync(p));
}

/** Why promtool tests cannot run here, or undefined. */
export function promtoolSkipReason(): string | undefined {
  return promBinary('promtool') ? undefined : 'needs promtool (apt-get install prometheus)';
}

/** Run promtool; never throws on a non-zero exit. */
export async function promtool(args: string[], cwd?: string): Promise<{ exitCode: number; output: string }> {
  const bin = promBinary('promtool');
  if (!bin) throw new Error('promtool not found (apt-get install prometheus)');
  const r = await execa(bin, args, { cwd, reject: false, all: true, timeout: 60_000 });
  return { exitCode: r.exitCode ?? -1, output: String(r.all ?? '') };
}
