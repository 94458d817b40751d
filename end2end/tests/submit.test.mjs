// Issue 29, the submit form as a new user meets it: a member of project `vlass` only is offered
// that project (the form's old default 'default' failed with "project not found"); a command of
// their own is labelled custom; template fields show only for a template; a user who may submit
// nowhere is told so. And when the server cannot be reached, the form says so and tries again.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { HOOK_TIMEOUT_MS, launchBrowser, signInWithPassword, startServer, waitHydrated } from './support.mjs';

const shots = process.env.CH_SCREENSHOTS ?? 'target/screenshots';
mkdirSync(shots, { recursive: true });
const PASSWORD = 'a long e2e password';
const json = (method, body) => ({ method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
// Chromium logs a request that got no answer; nothing else may be logged.
const unexpected = (errors) => errors.filter((e) => !/WebSocket|ERR_CONNECTION_REFUSED|Failed to load resource|Failed to fetch/.test(e));

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  for (const project of ['vlass', 'alma']) {
    assert.equal((await server.api('/api/projects', json('POST', { name: project }))).status, 201);
  }
  // carol may submit to vlass only (she reads alma); dave only reads vlass.
  for (const [user, role, memberships] of [
    ['carol', 'scientist', [['vlass', 'member'], ['alma', 'viewer']]],
    ['dave', 'scientist', [['vlass', 'viewer']]],
  ]) {
    const res = await server.api('/api/users', json('POST', { username: user, password: PASSWORD, role }));
    assert.equal(res.status, 201, await res.text());
    for (const [project, as] of memberships) {
      const m = await server.api(`/api/projects/${project}/members`, json('PUT', { username: user, role: as }));
      assert.equal(m.status, 204);
    }
  }
}, { timeout: HOOK_TIMEOUT_MS });

after(async () => {
  await browser?.close();
  await server?.stop();
}, { timeout: HOOK_TIMEOUT_MS });

const signIn = (user) => signInWithPassword(browser, server, user, PASSWORD, '/submit');

const options = (page, select) => page.locator(`select[name="${select}"] option`).evaluateAll((os) => os.map((o) => o.value));

test('a member of one project submits to it; a command of their own is labelled custom', async () => {
  const { context, page, errors } = await signIn('carol');
  await page.waitForSelector('[data-testid="submit-form"]');
  assert.deepEqual(await options(page, 'project'), ['vlass']);
  assert.equal(await page.locator('select[name="project"]').inputValue(), 'vlass');
  // No demo command, no agent to type, no template fields without a template.
  assert.equal(await page.locator('textarea[name="command"]').inputValue(), '');
  assert.equal(await page.locator('input[name="agent"]').count(), 0);
  assert.equal(await page.locator('[data-testid="template-params"]').count(), 0);
  // A template shows its own fields instead of the command line, and back.
  const template = (await options(page, 'template')).find((v) => v !== '');
  assert.ok(template, 'the site has templates');
  await page.selectOption('select[name="template"]', template);
  await page.waitForSelector('[data-testid="template-params"]');
  assert.equal(await page.locator('textarea[name="command"]').count(), 0);
  await page.selectOption('select[name="template"]', '');
  await page.waitForSelector('[data-testid="template-params"]', { state: 'detached' });

  await page.fill('input[name="name"]', 'calibrate 3C286');
  await page.fill('textarea[name="command"]', "sh -c 'echo PROGRESS 50; echo done'");
  await page.screenshot({ path: `${shots}/submit-form.png`, fullPage: true });
  await page.click('button[type="submit"]');
  await page.waitForURL(/\/jobs\/[0-9a-f-]{36}$/);
  const id = new URL(page.url()).pathname.split('/').pop();
  const job = await (await server.api(`/api/jobs/${id}`)).json();
  assert.equal(job.project, 'vlass');
  assert.equal(job.agent, 'custom');
  assert.equal(job.owner, 'carol');
  assert.deepEqual(unexpected(errors), []);
  await context.close();
});

test('a user who may submit nowhere is told so instead of a form that fails', async () => {
  const { context, page, errors } = await signIn('dave');
  await page.waitForSelector('[data-testid="no-project"]');
  assert.equal(await page.locator('[data-testid="submit-form"]').count(), 0);
  assert.match(await page.locator('[data-testid="no-project"]').textContent(), /member/);
  assert.deepEqual(unexpected(errors), []);
  await context.close();
});

// A submission while the server is down says the server cannot be reached (not the browser's
// "Failed to fetch"); once the server is back, "Try again" submits the form as typed.
test('a submission while the server is down says so, and goes through once it is back', async () => {
  const { context, page, errors } = await signIn('carol');
  await page.waitForSelector('[data-testid="submit-form"]');
  await page.fill('input[name="name"]', 'submitted during an outage');
  await page.fill('textarea[name="command"]', 'true');
  await server.restart({
    beforeStart: async () => {
      await page.click('button[type="submit"]');
      await page.waitForSelector('[data-testid="unreachable"]', { timeout: 15_000 });
      const text = await page.locator('main').textContent();
      assert.match(text, /Cannot reach the server/);
      assert.doesNotMatch(text, /Failed to fetch|error reaching server|TypeError/i, text);
      assert.equal(new URL(page.url()).pathname, '/submit');
      await page.screenshot({ path: `${shots}/submit-unreachable.png`, fullPage: true });
    },
  });
  await page.click('[data-testid="retry"]');
  await page.waitForURL(/\/jobs\/[0-9a-f-]{36}$/, { timeout: 15_000 });
  const id = new URL(page.url()).pathname.split('/').pop();
  const job = await (await server.api(`/api/jobs/${id}`)).json();
  assert.equal(job.name, 'submitted during an outage');
  assert.equal(job.project, 'vlass');
  assert.deepEqual(unexpected(errors), []);
  await context.close();
});

// A page loaded while the server is down retries its reads, then says the server cannot be
// reached and offers to try again; once the server is back, the page recovers.
test('a page that cannot load its data says the server cannot be reached, then recovers', async () => {
  const { context, page, errors } = await signIn('carol');
  await page.goto(`${server.url}/`);
  await waitHydrated(page);
  await server.restart({
    beforeStart: async () => {
      // Client-side navigation: the page's data comes from a server function.
      await page.click('header nav a[href="/submit"]');
      await page.waitForSelector('[data-testid="unreachable"]', { timeout: 30_000 });
      assert.doesNotMatch(await page.locator('main').textContent(), /Failed to fetch|error reaching server/i);
      await page.screenshot({ path: `${shots}/page-unreachable.png`, fullPage: true });
    },
  });
  await page.click('[data-testid="retry"]');
  await page.waitForSelector('[data-testid="submit-form"]', { timeout: 15_000 });
  assert.equal(await page.locator('select[name="project"]').inputValue(), 'vlass');
  assert.deepEqual(unexpected(errors), []);
  await context.close();
});
