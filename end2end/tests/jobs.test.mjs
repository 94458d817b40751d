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

// Issue 29: the page is rendered, then subscribes; a job that emits events while the page
// loads lost 1–2 of them in 3 runs out of 3. Now the rendered page carries the log offset it
// reflects and the subscription starts there. Repeated to catch a 1-in-10 race.
test('the job page shows every event of a job that runs while the page loads', async () => {
  const runs = Number(process.env.CH_RACE_RUNS ?? 12);
  const page = await env.browser.newPage({ viewport: { width: 1400, height: 900 } });
  const errors = watchErrors(page);
  const command = 'for i in 10 20 30 40 50 60 70 80 90; do echo PROGRESS $i; sleep 0.06; done';
  for (let run = 0; run < runs; run++) {
    const res = await env.server.api(`/api/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: `race-${run}`, command }),
    });
    assert.equal(res.status, 201);
    const job = await res.json();
    await page.goto(`${env.server.url}/jobs/${job.id}`);
    await waitHydrated(page);
    // The job ends (the API says so); then the page must hold every one of its events.
    for (const until = Date.now() + 30_000; Date.now() < until; ) {
      const now = await (await env.server.api(`/api/jobs/${job.id}`)).json();
      if (now.status === 'completed') break;
      await page.waitForTimeout(100);
    }
    const want = (await (await env.server.api(`/api/jobs/${job.id}/events`)).json()).map((e) => String(e.offset));
    assert.equal(want.length, 13, 'submitted, queued, running, 9 progress reports, completed');
    // The rows catch up within a moment, or an event was lost.
    let got = [];
    for (const until = Date.now() + 5_000; Date.now() < until; ) {
      got = await page.locator('[data-testid="events"] tbody tr td:first-child').allTextContents();
      if (got.length >= want.length) break;
      await page.waitForTimeout(50);
    }
    assert.deepEqual(got.map((t) => t.trim()), want, `run ${run}: the page's events are the log's`);
    assert.equal((await page.locator('.page-head [data-testid="status"]').textContent())?.trim(), 'completed');
  }
  assert.deepEqual(errors, []);
  await page.close();
});
