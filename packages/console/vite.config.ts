import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/**
 * The console's build (`npm run build -w packages/console` → dist/) and dev server
 * (`npm run dev:console`). The dev server proxies `/config.json` and the API to the local stack
 * (LCM_URL, default http://127.0.0.1:3000, what `npm start` serves), so the page talks to one
 * origin as it does when `npm start` or CloudFront serves dist/.
 */
const target = process.env.LCM_URL ?? 'http://127.0.0.1:3000';

export default defineConfig(({ command }) => {
  // A build is always the production one, whatever NODE_ENV the caller has: vitest sets
  // NODE_ENV=test, and a build started from a test (or from `npm start` run by one) would
  // otherwise ship React's development build, over half as large again. Vite reads NODE_ENV
  // after this file, for the whole build (React's JSX transform and its runtime alike).
  if (command === 'build') process.env.NODE_ENV = 'production';
  return {
    plugins: [react()],
    base: './',
    build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 600 },
    server: {
      proxy: {
        '/config.json': target,
        '/v1': target,
        '/oauth2': target,
        '/.well-known': target,
        '/ws': { target: target.replace(/^http/, 'ws'), ws: true },
      },
    },
  };
});
