/** Fills the `--node-url` template (`{node}`, `{instance}`) that links a fleet tile to that node's own page. */

const PLACEHOLDER = /\{(node|instance)\}/g;

/** Throws with a message saying what is wrong unless `template` makes an http(s) URL. */
export function validateNodeUrlTemplate(template: string): void {
  const leftover = template.replace(PLACEHOLDER, '').match(/\{[^}]*\}/);
  if (leftover) throw new Error(`--node-url: unknown placeholder ${leftover[0]} (use {node} and {instance})`);
  if (fillNodeUrl(template, { node: 'node-1', instance: '10.0.0.1:7474' }) === null)
    throw new Error(`--node-url: "${template}" does not make an http(s) URL`);
}

/** A scrape target as Prometheus prints it: `host:port`, `[v6]:port`. */
const HOST_PORT = /^[A-Za-z0-9._\-:[\]]+$/;

/** The node's page URL, or null when the result is no http(s) URL. `{node}` is URL-encoded; `{instance}` must be host:port. */
export function fillNodeUrl(template: string, node: { node: string; instance: string }): string | null {
  const filled = template.replace(PLACEHOLDER, (_m, key: 'node' | 'instance') =>
    key === 'instance' && HOST_PORT.test(node.instance) ? node.instance : encodeURIComponent(node[key]),
  );
  try {
    const u = new URL(filled);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.toString() : null;
  } catch {
    return null;
  }
}
