import react from '@vitejs/plugin-react';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true },
  server: { proxy: { '/api': 'http://127.0.0.1:7474', '/ws': { target: 'ws://127.0.0.1:7474', ws: true } } },
  test: { include: ['test/**/*.test.{ts,tsx}'], passWithNoTests: true },
});
