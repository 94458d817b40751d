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
  // No command is filled in for the user (issue 29: the form's demo command is gone).
  assert.equal(await page.locator('textarea[name="command"]').inputValue(), '');
  await page.fill('input[name="name"]', 'e2e progress job');
  await page.fill('textarea[name="command"]', "sh -c 'sleep 1; echo PROGRESS 50; sleep 2; echo done'");
  await page.fill('input[name="resources.cpus"]', '-2');
  await page.click('button[type="submit"]');
  await page.waitForSelector('.field-error[data-field="resources.cpus"]');
  assert.equal(new URL(page.url()).pathname, '/submit');
  await page.fill('input[name="resources.cpus"]', '1');
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

// Issue 29, the dashboard: jobs that report progress every 50–100 ms while the list loads (their
// last reports and completions fall before, during and after the page's render and its
// subscription, and one job is submitted while the page loads); once they have ended, every
// row's status and progress are the API's. Each run lists a project of its own.
test('the dashboard shows the last state of every job that runs while it loads', async () => {
  const runs = Number(process.env.CH_RACE_RUNS ?? 12);
  const page = await env.browser.newPage({ viewport: { width: 1400, height: 900 } });
  const errors = watchErrors(page);
  const post = (path, body) => env.server.api(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  // `steps` progress reports, `pause` seconds apart.
  const submit = async (project, name, steps, pause) => {
    const command = `for i in $(seq 1 ${steps}); do echo PROGRESS $((i * 95 / ${steps})); sleep ${pause}; done`;
    const res = await post('/api/jobs', { name, project, command });
    assert.equal(res.status, 201, await res.clone().text());
    return (await res.json()).id;
  };
  for (let run = 0; run < runs; run++) {
    const project = `race-list-${run}`;
    assert.equal((await post('/api/projects', { name: project })).status, 201);
    const ids = [];
    for (const [i, [steps, pause]] of [[3, 0.05], [6, 0.07], [9, 0.1], [12, 0.06]].entries()) {
      ids.push(await submit(project, `list-race-${run}-${i}`, steps, pause));
    }
    await page.goto(`${env.server.url}/?project=${project}`);
    ids.push(await submit(project, `list-race-${run}-late`, 5, 0.08));
    await waitHydrated(page);
    // Every job ends (the API says so); then the rows must show what the API shows.
    let want = [];
    for (const until = Date.now() + 30_000; Date.now() < until; ) {
      const list = await (await env.server.api(`/api/jobs?project=${project}`)).json();
      want = list.jobs.map((j) => [j.id, j.status, String(j.progress)]).sort();
      if (want.length === ids.length && want.every(([, s]) => s === 'completed')) break;
      await page.waitForTimeout(100);
    }
    assert.equal(want.length, ids.length);
    const rows = () => page.$$eval('[data-testid="job-table"] tbody tr', (trs) => trs.map((tr) => [
      tr.dataset.jobId,
      tr.querySelector('[data-testid="status"]')?.textContent.trim(),
      tr.querySelector('[data-testid="progress"]')?.getAttribute('aria-valuenow'),
    ]).sort());
    // The rows catch up within a moment, or an event was lost.
    let got = [];
    for (const until = Date.now() + 5_000; Date.now() < until; ) {
      got = await rows();
      if (JSON.stringify(got) === JSON.stringify(want)) break;
      await page.waitForTimeout(50);
    }
    assert.deepEqual(got, want, `run ${run}: the dashboard's rows are the API's`);
  }
  assert.deepEqual(errors, []);
  await page.close();
});
