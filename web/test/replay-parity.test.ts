/**
 * The page's in-browser replay and `ctscope replay` must say the same thing about the same recording: the same
 * hello, sync and flow detail, built by the one shared builder. Runs the built server's app in-process.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FlowDetail, HelloMessage, ServerMessage, SyncMessage } from '@ctscope/shared';
import type {} from '@fastify/websocket';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReplayEngine } from '../../server/dist/engine/replay-engine.js';
import { buildApp } from '../../server/dist/http/app.js';
import { parseRecordingText } from '../src/domain/recording-file.js';
import { RecordingReplayer } from '../src/domain/recording-replayer.js';
import { seedRecordingText } from './support/seed-recording.js';

const INCIDENT_ID = '137932478';
/** JSON as the wire carries it (undefined fields dropped). */
const wire = <T>(x: T): T => JSON.parse(JSON.stringify(x));

describe('server replay and browser replay of the same recording', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ctscope-parity-'));
  const app = Fastify();
  let server: { hello: HelloMessage; sync: SyncMessage; detail: FlowDetail };
  let browser: RecordingReplayer;
  let end = 0;

  beforeAll(async () => {
    const text = seedRecordingText();
    const path = join(dir, 'seed.ndjson');
    writeFileSync(path, text);
    const engine = await ReplayEngine.open(path);
    // The hub's timer is never started: one tick applies the whole recording, as the browser's one advanceTo.
    const hub = await buildApp(app, { engine });
    await app.ready();
    end = engine.clock.state().end;
    engine.clock.seek(end);
    await engine.settled();
    hub.tick();
    const messages: ServerMessage[] = [];
    await app.injectWS(
      '/ws',
      {},
      { onInit: (s) => s.on('message', (d) => messages.push(JSON.parse(String(d)))) },
    );
    for (let i = 0; i < 200 && messages.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    const [hello, sync] = messages;
    if (hello?.type !== 'hello' || sync?.type !== 'sync') throw new Error('expected hello then sync');
    const detail = (await app.inject({ url: `/api/flows/${INCIDENT_ID}` })).json() as FlowDetail;
    server = { hello, sync, detail };

    browser = new RecordingReplayer(parseRecordingText(text));
    browser.advanceTo(end);
  });

  afterAll(async () => {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends the same hello, but for the run id and the window', () => {
    // The window is a transport limit, not the recording's content: the server windows syncs for a crowd of
    // clients (WS_LIMITS), the in-browser replay holds its whole table.
    expect({
      ...wire(browser.hello()),
      instance: server.hello.instance,
      window: server.hello.window,
    }).toEqual(server.hello);
    expect(browser.hello().window.rows).toBeGreaterThanOrEqual(server.hello.window.rows);
  });

  it('sends the same sync, alerts included', () => {
    const sync = wire(browser.sync(server.sync.seq));
    expect(sync).toEqual(server.sync);
    // What the browser's own copy used to leave out.
    expect(sync.alerts.length).toBeGreaterThan(0);
    expect(sync.alerts.some((a) => a.flowId === INCIDENT_ID && a.state === 'raised')).toBe(true);
  });

  it('answers the same flow detail, timeouts included', () => {
    const detail = wire(browser.detail(INCIDENT_ID));
    expect(detail).toEqual(server.detail);
    expect(detail?.timeouts.length).toBeGreaterThan(0);
  });
});
