/** Composition root: URL state, the data source, and the wall or the full dashboard. */
import type { FlowFilter } from '@ctscope/shared';
import { useEffect, useMemo, useRef } from 'react';
import { Dashboard } from './components/Dashboard.js';
import { KioskView } from './components/KioskView.js';
import { computeKpis } from './domain/kpis.js';
import { useDashboardState } from './hooks/use-dashboard-state.js';
import { useUrlState } from './hooks/use-url-state.js';
import type { DashboardController } from './transport/dashboard-controller.js';

/** The wall shows only critical flows: subscribing to just those keeps a flood's rows off the wire and the page. */
export const KIOSK_FILTER: FlowFilter = { severity: ['critical'] };

/** The page: wall mode or the dashboard, over one controller. */
export function App({ controller }: { controller: DashboardController }) {
  const [url, setUrl] = useUrlState();
  const state = useDashboardState(controller.store);
  const initial = useRef(url);

  useEffect(() => {
    const u = initial.current;
    if (u.rec && !u.kiosk) {
      controller.openServerRecording(u.rec, u.at).catch((err: Error) => {
        controller.store.dispatch({
          type: 'error',
          message: `cannot open recording ${u.rec}: ${err.message}`,
        });
        controller.connect(u.filter);
      });
    } else {
      controller.connect(u.kiosk ? KIOSK_FILTER : u.filter);
    }
    return () => controller.stop();
  }, [controller]);

  useEffect(
    () => controller.setFilter(url.kiosk ? KIOSK_FILTER : url.filter),
    [controller, url.filter, url.kiosk],
  );

  const theme = url.kiosk ? 'dark' : url.theme;
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
    document.documentElement.classList.toggle('kiosk-root', url.kiosk);
  }, [theme, url.kiosk]);

  const kpis = useMemo(() => computeKpis(state), [state]);
  const title = `${kpis.critical.length ? `✖ ${kpis.critical.length} critical · ` : ''}ctscope${state.hello ? ` · ${state.hello.node.name}` : ''}`;
  useEffect(() => {
    document.title = title;
  }, [title]);

  if (url.kiosk) return <KioskView state={state} kpis={kpis} />;
  return <Dashboard controller={controller} state={state} kpis={kpis} url={url} setUrl={setUrl} />;
}
