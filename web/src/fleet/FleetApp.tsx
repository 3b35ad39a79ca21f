/** Composition root of fleet mode: URL (`?kiosk=1`), the store's polling, a clock, and the wall. */
import { useEffect, useState } from 'react';
import { FleetWall } from './FleetWall.js';
import type { FleetStore } from './fleet-store.js';
import { useFleetState } from './use-fleet-state.js';
import './fleet.css';

export function FleetApp({ store, search }: { store: FleetStore; search: string }) {
  const p = new URLSearchParams(search);
  const kiosk = p.get('kiosk') === '1' || p.get('kiosk') === 'true';
  const state = useFleetState(store);
  const [now, setNow] = useState(() => Date.now());

  useEffect(() => {
    store.start({ kiosk });
    return () => store.stop();
  }, [store, kiosk]);

  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);

  const critical = state.snapshot?.nodes.filter((n) => n.status === 'critical').length ?? 0;
  useEffect(() => {
    document.documentElement.dataset.theme = 'dark';
    document.documentElement.classList.toggle('kiosk-root', kiosk);
    document.title = `${critical ? `✖ ${critical} critical · ` : ''}ctscope fleet`;
  }, [kiosk, critical]);

  return <FleetWall state={state} now={now} kiosk={kiosk} />;
}
