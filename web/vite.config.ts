import react from '@vitejs/plugin-react';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // recharts and react are most of the page; one vendor chunk keeps the app chunk small and cacheable.
    rolldownOptions: {
      output: {
        advancedChunks: { groups: [{ name: 'vendor', test: /node_modules/ }] },
      },
    },
    chunkSizeWarningLimit: 800,
  },
  server: { proxy: { '/api': 'http://127.0.0.1:7474', '/ws': { target: 'ws://127.0.0.1:7474', ws: true } } },
  test: {
    include: ['test/**/*.test.{ts,tsx}'],
    // Browser tests each run a server and Chromium: one file at a time on a 2-core machine.
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    globalSetup: ['test/support/global-setup.ts'],
  },
});
