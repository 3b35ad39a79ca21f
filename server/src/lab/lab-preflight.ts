/** Before the lab touches anything: root, and the tools it runs (iproute2, iptables, conntrack). */
import { findOnPath } from '../sources/preflight.js';
import { type IptablesBackend, iptablesBinary, labPath } from './lab-netns.js';

export class LabPreflightError extends Error {}

const INSTALL = 'apt-get install iproute2 iptables conntrack';

/** Tools the lab runs for a backend, with the Debian package that provides each. */
export function requiredTools(backend: IptablesBackend): Array<{ name: string; pkg: string }> {
  return [
    { name: 'ip', pkg: 'iproute2' },
    { name: 'conntrack', pkg: 'conntrack' },
    { name: iptablesBinary(backend, 'restore'), pkg: 'iptables' },
    { name: iptablesBinary(backend, 'save'), pkg: 'iptables' },
  ];
}

/** Throws a LabPreflightError that says exactly what to do. */
export async function labPreflight(backend: IptablesBackend, getuid = process.getuid): Promise<void> {
  const uid = getuid?.();
  if (uid !== 0) {
    throw new LabPreflightError(
      `ctscope lab must run as root (it creates network namespaces, veth pairs and iptables rules; you are uid ${uid ?? 'unknown'}): run it with sudo`,
    );
  }
  const missing: Array<{ name: string; pkg: string }> = [];
  for (const t of requiredTools(backend)) if (!(await findOnPath(t.name, labPath()))) missing.push(t);
  if (missing.length > 0) {
    const names = missing.map((t) => `${t.name} (package ${t.pkg})`).join(', ');
    throw new LabPreflightError(
      `ctscope lab needs ${names}, not found on PATH: install them with \`${INSTALL}\``,
    );
  }
}
