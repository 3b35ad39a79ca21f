/**
 * Lab program: a UDP client that queries a service every interval and logs one line per interval
 * (`<time the query was sent> ok=1 fail=0 sport=52001 from=dns-a`, see udp-wire.ts), written when the
 * interval ends. Run inside an app namespace with
 * `ip netns exec APP node udp-client.js --lab NAME --client KEY --target VIP:PORT [--sport 52001]`
 * (`--target [VIP6]:PORT` for IPv6).
 *
 * With `--sport` it keeps ONE socket bound to that port forever, like Netty's DNS monitor in the incident:
 * every query refreshes the same conntrack entry, so a broken entry never expires. Without it, every query
 * uses a fresh socket and so a fresh random source port (a fresh conntrack entry), like dig.
 */
import { createSocket, type Socket } from 'node:dgram';
import { parseArgs } from 'node:util';
import { decodeAnswer, encodeQuery, formatClientLogLine } from './udp-wire.js';

const { values } = parseArgs({
  options: {
    lab: { type: 'string' },
    client: { type: 'string' },
    target: { type: 'string' },
    sport: { type: 'string' },
    'interval-ms': { type: 'string' },
    'timeout-ms': { type: 'string' },
  },
  strict: true,
});

function fail(msg: string): never {
  process.stderr.write(`udp-client: ${msg}\n`);
  process.exit(2);
}

const name = values.client ?? 'client';
const target =
  /^(?:(\d+\.\d+\.\d+\.\d+)|\[([0-9a-f:]+)\]):(\d+)$/i.exec(values.target ?? '') ??
  fail('--target IP:PORT or [IPV6]:PORT is required');
const ipv6 = target[2] !== undefined;
const targetIp = (target[1] ?? target[2])!.toLowerCase();
const targetPort = Number(target[3]);
const fixedPort = values.sport === undefined ? undefined : Number(values.sport);
if (fixedPort !== undefined && !(Number.isInteger(fixedPort) && fixedPort > 0 && fixedPort < 65536))
  fail('bad --sport');
const intervalMs = Number(values['interval-ms'] ?? '1000');
const timeoutMs = Number(values['timeout-ms'] ?? String(Math.round(intervalMs * 0.8)));

let nextId = 1;
/** Waiting query: its id and how to settle it. */
let pending: { id: number; done: (pod: string | undefined) => void } | undefined;

function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    // IPv6-only, so the same fixed port can also be bound for IPv4 in the same app (a dual-stack monitor).
    const s = createSocket({ type: ipv6 ? 'udp6' : 'udp4', ipv6Only: ipv6 });
    s.on('message', (msg, rinfo) => {
      const a = decodeAnswer(msg);
      // Only the service address itself is an answer: a reply that was not un-NATed is dropped, as a resolver would.
      if (!a || rinfo.address !== targetIp || rinfo.port !== targetPort) return;
      if (pending && a.id === pending.id) pending.done(a.pod);
    });
    s.once('error', reject);
    s.bind(port, ipv6 ? '::' : '0.0.0.0', () => {
      s.removeListener('error', reject);
      s.on('error', (err) => process.stderr.write(`${new Date().toISOString()} ${name}: ${err.message}\n`));
      resolve(s);
    });
  });
}

async function query(sock: Socket): Promise<string | undefined> {
  const id = nextId++;
  return new Promise((resolve) => {
    const timer = setTimeout(() => settle(undefined), timeoutMs);
    function settle(pod: string | undefined) {
      clearTimeout(timer);
      pending = undefined;
      resolve(pod);
    }
    pending = { id, done: settle };
    sock.send(encodeQuery(id, name), targetPort, targetIp, (err) => {
      if (err) settle(undefined);
    });
  });
}

async function main(): Promise<void> {
  const fixed = fixedPort === undefined ? undefined : await openSocket(fixedPort);
  process.stdout.write(
    `${new Date().toISOString()} udp-client ${name} (lab ${values.lab}) -> ${values.target} ` +
      `${fixed ? `from fixed port ${fixedPort}` : 'from a random port per query'}, every ${intervalMs} ms\n`,
  );
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => process.exit(0));
  for (;;) {
    const started = Date.now();
    const sock = fixed ?? (await openSocket(0));
    const sport = sock.address().port;
    const pod = await query(sock);
    if (!fixed) sock.close();
    const wait = Math.max(0, started + intervalMs - Date.now());
    await new Promise((r) => setTimeout(r, wait));
    process.stdout.write(
      `${formatClientLogLine({ at: started, ok: pod ? 1 : 0, fail: pod ? 0 : 1, sport, from: pod ?? '-' })}\n`,
    );
  }
}

main().catch((err) => {
  process.stderr.write(`udp-client ${name}: ${(err as Error).message}\n`);
  process.exit(1);
});
