// Starts the events source on the fake tools (PATH and FAKE_CT_* from the parent) and exits without stopping it,
// as a crash handled by process.exit or a test runner ending would.
import { createConntrackEventsSource } from '../../dist/sources/conntrack-events-source.js';

const noop = () => {};
const source = createConntrackEventsSource({
  sink: {
    onEventLine: noop,
    onEventLoss: noop,
    onDump: noop,
    onNat: noop,
    onCounters: noop,
    onSourceState: (s) => {
      if (s.state === 'running') process.exit(0);
    },
  },
  node: {},
  bufferBytes: 1024 * 1024,
});
source.start();
