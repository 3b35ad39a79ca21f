/** Browser entry point: one controller for the page's lifetime, the app, the styles. */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.js';
import './styles.css';
import { ApiClient } from './transport/api-client.js';
import { DashboardController } from './transport/dashboard-controller.js';

const controller = new DashboardController(
  ApiClient.fromLocation(window.location, { storage: window.sessionStorage, history: window.history }),
);
const root = document.getElementById('root');
if (root)
  createRoot(root).render(
    <StrictMode>
      <App controller={controller} />
    </StrictMode>,
  );
