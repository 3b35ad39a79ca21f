/**
 * Lab program: a DNS-like UDP responder (one per endpoint pod), run inside the pod's namespace with
 * `ip netns exec POD node udp-responder.js --lab NAME --pod KEY --port 53`. Answers every query, over IPv4 and
 * IPv6 (one socket each), until killed.
 */
import { createSocket } from 'node:dgram';
import { parseArgs } from 'node:util';
import { decodeQuery, encodeAnswer, formatResponderReady } from './udp-wire.js';

const { values } = parseArgs({
  options: {
    lab: { type: 'string' },
    pod: { type: 'string' },
    port: { type: 'string' },
  },
  strict: true,
});
const pod = values.pod ?? 'pod';
const port = Number(values.port ?? '53');
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  process.stderr.write(`udp-responder: bad --port ${values.port}\n`);
  process.exit(2);
}

let answered = 0;
const SOCKETS = [
  ['udp4', '0.0.0.0'],
  ['udp6', '::'],
] as const;
let bound = 0;
for (const [type, address] of SOCKETS) {
  const sock = createSocket({ type, ipv6Only: type === 'udp6' });
  sock.on('message', (msg, rinfo) => {
    const id = decodeQuery(msg);
    if (id === undefined) return;
    answered++;
    sock.send(encodeAnswer(id, pod), rinfo.port, rinfo.address);
  });
  sock.on('error', (err) => {
    process.stderr.write(`${new Date().toISOString()} udp-responder ${pod}: ${err.message}\n`);
    process.exit(1);
  });
  sock.bind(port, address, () => {
    process.stdout.write(
      `${new Date().toISOString()} udp-responder ${pod} (lab ${values.lab}) listening on ${type} ${address} port ${port}\n`,
    );
    // The lab starts its clients only after this line: a query sent earlier is refused and its entry is left unreplied.
    if (++bound === SOCKETS.length) process.stdout.write(`${formatResponderReady(Date.now(), port)}\n`);
  });
}
setInterval(() => {
  process.stdout.write(`${new Date().toISOString()} answered=${answered}\n`);
}, 10_000);
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => process.exit(0));
