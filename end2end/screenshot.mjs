// Regenerates docs/screenshots/*.png from a real server with a mix of job states.
// Usage (after `cargo xtask build`): node end2end/screenshot.mjs
import { mkdirSync } from 'node:fs';
import { launchBrowser, signedIn, startServer, waitHydrated } from './tests/support.mjs';

const out = 'docs/screenshots';
mkdirSync(out, { recursive: true });
const server = await startServer({ CH_EXECUTOR__SLOTS: '2' });
const submit = async (body) => {
  const res = await server.api(`/api/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return res.json();
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
try {
  for (const name of ['vlass', 'ngvla']) {
    const res = await server.api('/api/projects', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name }),
    });
    if (res.status !== 201) throw new Error(`project ${name}: ${res.status}`);
  }
  await submit({ name: 'VLASS 2.1 calibration T10t01', agent: 'AlphaCal', project: 'vlass', command: "sh -c 'echo PROGRESS 100; echo calibrated'" });
  await submit({ name: 'Flag RFI, scan 42', agent: 'AnomalyDetection', project: 'vlass', command: "sh -c 'echo bad antenna table >&2; exit 2'" });
  await sleep(1500);
  const cancel = await submit({ name: 'Mosaic test (superseded)', agent: 'ImageReconstruction', project: 'ngvla', command: 'sleep 60', priority: 'low' });
  await sleep(300);
  await server.api(`/api/jobs/${cancel.id}/cancel`, { method: 'POST' });
  const busy = await submit({ name: 'Image 1904-66 (w-projection)', agent: 'ImageReconstruction', project: 'ngvla', priority: 'high', command: "sh -c 'echo PROGRESS 35; sleep 120'", resources: { cpus: 8, memory_gb: 16, max_runtime_minutes: 240 } });
  await submit({ name: 'Spectral cube, FREQ axis', agent: 'ImageReconstruction', project: 'vlass', command: "sh -c 'echo PROGRESS 72; sleep 120'", resources: { cpus: 4, memory_gb: 8 } });
  await submit({ name: 'Self-cal round 2', agent: 'AlphaCal', project: 'vlass', priority: 'urgent', command: 'sleep 5' });
  await submit({ name: 'Source finding', agent: 'AnomalyDetection', project: 'ngvla', command: 'sleep 5' });
  await sleep(1500);
  const browser = signedIn(await launchBrowser(), server.cookies);
  const page = await browser.newPage({ viewport: { width: 1400, height: 640 } });
  await page.goto(server.url);
  await waitHydrated(page);
  await sleep(500);
  await page.screenshot({ path: `${out}/dashboard.png` });
  await page.setViewportSize({ width: 1400, height: 1100 });
  await page.goto(`${server.url}/jobs/${busy.id}`);
  await waitHydrated(page);
  await sleep(500);
  await page.screenshot({ path: `${out}/job-detail.png` });
  // Mode B with the bundled Parkes 1904-66 map: asinh + inferno, 99.5 % limits, grid, a region.
  await page.setViewportSize({ width: 1400, height: 900 });
  await page.goto(`${server.url}/viewer`);
  await page.waitForFunction(() => window.__chViewer?.info()?.layers?.length === 1, null, { timeout: 60_000 });
  await page.selectOption('[data-testid="colormap"]', 'inferno');
  await page.selectOption('[data-testid="scale"]', 'asinh');
  await page.selectOption('[data-testid="limits"]', '99.5');
  await page.click('[data-testid="grid"]');
  await page.click('[data-testid="tool-ellipse"]');
  const box = await page.locator('[data-testid="canvas-wrap"]').boundingBox();
  await page.mouse.move(box.x + box.width * 0.62, box.y + box.height * 0.22);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.62 + 70, box.y + box.height * 0.22 + 45, { steps: 4 });
  await page.mouse.up();
  await page.mouse.move(box.x + box.width * 0.45, box.y + box.height * 0.55);
  await sleep(300);
  await page.screenshot({ path: `${out}/viewer.png` });
  await browser.close();
} finally {
  await server.stop();
}
