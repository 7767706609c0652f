import { defineConfig } from '@playwright/test';

// E2E_PORT lets several checkouts (or people sharing a machine) run the suite at
// once: each port builds into its own folder and serves it.
const port = Number(process.env.E2E_PORT ?? 4173);
const outDir = port === 4173 ? 'dist' : `dist-e2e-${port}`;

export default defineConfig({
  testDir: '.',
  globalSetup: './global-setup.ts',
  workers: 1,
  retries: 0,
  reporter: 'list',
  timeout: 30_000,
  expect: { timeout: 10_000 },
  use: {
    baseURL: `http://localhost:${port}`,
    headless: true,
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--enable-unsafe-webgpu'],
    },
  },
  webServer: {
    command: `npm run build -- --outDir ${outDir} && npx vite preview --port ${port} --strictPort --outDir ${outDir}`,
    cwd: '..',
    url: `http://localhost:${port}`,
    reuseExistingServer: !process.env.CI,
    timeout: 180_000,
  },
});
