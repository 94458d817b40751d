// Submit a job from the form, watch it go queued → running → completed live, then read its
// log on the detail page; the list page updates without reload.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { serverAndBrowser, waitHydrated, watchErrors } from './support.mjs';

const shots = process.env.CH_SCREENSHOTS ?? 'target/screenshots';
const env = serverAndBrowser();

mkdirSync(shots, { recursive: true });

test('dashboard is server-rendered before any script runs', async () => {
  const res = await env.server.api(`/api/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'ssr-check', command: 'true' }),
  });
  assert.equal(res.status, 201);
  const html = await (await env.server.api(`/`)).text();
  assert.match(html, /ssr-check/);
  assert.match(html, /data-testid="job-table"/);
});

test('submit from the form and follow the job live to its log', async () => {
  const page = await env.browser.newPage({ viewport: { width: 1400, height: 900 } });
  const errors = watchErrors(page);
  const bundle = page.waitForResponse((r) => new URL(r.url()).pathname.endsWith('_bg.wasm'));
  await page.goto(`${env.server.url}/submit`);
  await waitHydrated(page);
  // The WASM bundle arrives compressed (the copies `cargo xtask build` writes beside it).
  const wasm = await bundle;
  assert.match(wasm.headers()['content-encoding'] ?? '', /^(br|gzip)$/);

  // Validation runs in the browser with the domain crate: a bad value is named at once.
  await page.fill('input[name="name"]', 'e2e progress job');
  await page.fill('input[name="resources.cpus"]', '-2');
  await page.click('button[type="submit"]');
  await page.waitForSelector('.field-error[data-field="resources.cpus"]');
  assert.equal(new URL(page.url()).pathname, '/submit');
  await page.fill('input[name="resources.cpus"]', '1');
  await page.fill('textarea[name="command"]', "sh -c 'sleep 1; echo PROGRESS 50; sleep 2; echo done'");
  await page.screenshot({ path: `${shots}/submit.png` });
  await page.click('button[type="submit"]');

  await page.waitForURL(/\/jobs\/[0-9a-f-]{36}$/);
  const seen = new Set();
  const status = page.locator('.page-head [data-testid="status"]');
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const s = (await status.textContent())?.trim();
    seen.add(s);
    const pct = await page.locator('.page > [data-testid="progress"]').getAttribute('aria-valuenow');
    if (pct === '50') seen.add('progress-50');
    if (s === 'completed') break;
    await page.waitForTimeout(50);
  }
  assert.ok(seen.has('running'), `saw ${[...seen]}`);
  assert.ok(seen.has('progress-50'), `saw ${[...seen]}`);
  assert.ok(seen.has('completed'), `saw ${[...seen]}`);
  await page.waitForFunction(() => document.querySelector('[data-testid="stdout"]')?.textContent.includes('done'));
  const steps = await page.locator('[data-testid="timeline"] .label').allTextContents();
  assert.deepEqual(steps, ['submitted', 'queued', 'running', 'completed']);
  await page.screenshot({ path: `${shots}/job-detail.png`, fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});

test('job list updates live without reload', async () => {
  const page = await env.browser.newPage({ viewport: { width: 1400, height: 800 } });
  const errors = watchErrors(page);
  await page.goto(`${env.server.url}/`);
  await waitHydrated(page);
  const res = await env.server.api(`/api/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'live-list', command: "sh -c 'sleep 1; echo ok'" }),
  });
  const job = await res.json();
  const row = page.locator(`tr[data-job-id="${job.id}"]`);
  await row.waitFor();
  await page.waitForFunction(
    (id) => document.querySelector(`tr[data-job-id="${id}"] [data-testid="status"]`)?.textContent === 'completed',
    job.id,
    { timeout: 30_000 },
  );
  await page.screenshot({ path: `${shots}/dashboard.png` });
  assert.deepEqual(errors, []);
  await page.close();
});
