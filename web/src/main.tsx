/** Browser entry point: one controller for the page's lifetime, the app, the styles. */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.js';
import { FleetApp } from './fleet/FleetApp.js';
import { FleetStore } from './fleet/fleet-store.js';
import './styles.css';
import { ApiClient } from './transport/api-client.js';
import { DashboardController } from './transport/dashboard-controller.js';

// `ctscope fleet` serves this page with <meta name="ctscope-mode" content="fleet">: the cluster wall instead of one node.
const fleet = document.querySelector('meta[name="ctscope-mode"]')?.getAttribute('content') === 'fleet';
const root = document.getElementById('root');
if (root)
  createRoot(root).render(
    <StrictMode>
      {fleet ? (
        <FleetApp store={FleetStore.fromLocation(window.location)} search={window.location.search} />
      ) : (
        <App
          controller={
            new DashboardController(
              ApiClient.fromLocation(window.location, {
                storage: window.sessionStorage,
                history: window.history,
              }),
            )
          }
        />
      )}
    </StrictMode>,
  );
