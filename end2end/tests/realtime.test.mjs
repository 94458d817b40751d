// The real-time gateway in the browser: two users in different projects, each in their own tab,
// see only their project's jobs arrive live; the server stops and starts again: the tabs show
// "reconnecting", then the updates committed meanwhile appear without a reload.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { HOOK_TIMEOUT_MS, launchBrowser, signInWithPassword, startServer, waitHydrated } from './support.mjs';

const shots = process.env.CH_SCREENSHOTS ?? 'target/screenshots';
mkdirSync(shots, { recursive: true });
const PASSWORD = 'a long e2e password';
const json = (method, body) => ({ method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  for (const [user, project] of [['alice', 'alpha'], ['bob', 'beta']]) {
    assert.equal((await server.api('/api/projects', json('POST', { name: project }))).status, 201);
    const res = await server.api('/api/users', json('POST', { username: user, password: PASSWORD, role: 'scientist' }));
    assert.equal(res.status, 201, await res.text());
    const m = await server.api(`/api/projects/${project}/members`, json('PUT', { username: user, role: 'member' }));
    assert.equal(m.status, 204);
  }
}, { timeout: HOOK_TIMEOUT_MS });

after(async () => {
  await browser?.close();
  await server?.stop();
}, { timeout: HOOK_TIMEOUT_MS });

async function signIn(user) {
  const { context, page, errors } = await signInWithPassword(browser, server, user, PASSWORD);
  // Marks this document: a reload would lose it.
  await page.evaluate(() => { window.__sameDocument = true; });
  return { context, page, errors };
}

async function submit(name, project) {
  const res = await server.api('/api/jobs', json('POST', { name, project, command: 'true' }));
  const body = await res.text();
  assert.equal(res.status, 201, body);
  return JSON.parse(body).id;
}

const rows = (page) => page.locator('[data-testid="job-table"] tbody tr');
const names = async (page) => rows(page).locator('td:first-child').allTextContents();

test('each tab sees its own project live, and resumes after a server restart', async () => {
  const alice = await signIn('alice');
  const bob = await signIn('bob');

  const a1 = await submit('alpha-live-1', 'alpha');
  const b1 = await submit('beta-live-1', 'beta');
  await alice.page.waitForSelector(`tr[data-job-id="${a1}"]`, { timeout: 15_000 });
  await bob.page.waitForSelector(`tr[data-job-id="${b1}"]`, { timeout: 15_000 });
  assert.ok(!(await names(alice.page)).includes('beta-live-1'), `alice sees ${await names(alice.page)}`);
  assert.ok(!(await names(bob.page)).includes('alpha-live-1'), `bob sees ${await names(bob.page)}`);

  // Stop the server; while it is down the tabs say so. Start it again and commit jobs at once,
  // before the tabs' backoff has them back: those updates are recovered from the log.
  await server.restart({
    beforeStart: async () => {
      for (const page of [alice.page, bob.page]) {
        await page.waitForSelector('[data-testid="live-indicator"][data-state="reconnecting"]', { timeout: 15_000 });
      }
      await alice.page.screenshot({ path: `${shots}/realtime-reconnecting.png` });
    },
  });
  const missed = [await submit('alpha-after-restart', 'alpha'), await submit('beta-after-restart', 'beta')];
  await alice.page.waitForSelector(`tr[data-job-id="${missed[0]}"]`, { timeout: 30_000 });
  await bob.page.waitForSelector(`tr[data-job-id="${missed[1]}"]`, { timeout: 30_000 });
  await alice.page.waitForSelector('[data-testid="live-indicator"].on', { timeout: 30_000 });
  for (const [who, other] of [[alice, 'beta-after-restart'], [bob, 'alpha-after-restart']]) {
    assert.equal(await who.page.evaluate(() => window.__sameDocument), true, 'no reload');
    assert.ok(!(await names(who.page)).includes(other), `${await names(who.page)}`);
    // The WebSocket closing during the restart is logged by Chromium; nothing else may be.
    assert.deepEqual(who.errors.filter((e) => !/WebSocket|ERR_CONNECTION_REFUSED|Failed to load resource/.test(e)), []);
  }
  await alice.page.screenshot({ path: `${shots}/realtime-resumed.png` });
  await alice.context.close();
  await bob.context.close();
});

// Issue 29 and 28: while the server is down, an open job page says its state may be out of
// date and disables Cancel; the running job outlives the restart, and once the page is live
// again a Cancel stops it (the restarted server re-attached to it).
test('a job page while the server restarts: stale notice, then cancel the job that outlived it', async () => {
  const alice = await signIn('alice');
  const id = (await (await server.api('/api/jobs', json('POST', { name: 'outlives', project: 'alpha', command: 'sleep 120' }))).json()).id;
  await alice.page.goto(`${server.url}/jobs/${id}`);
  await waitHydrated(alice.page);
  const status = alice.page.locator('.page-head [data-testid="status"]');
  await alice.page.waitForFunction(() => document.querySelector('.page-head [data-testid="status"]')?.textContent === 'running');
  assert.equal(await alice.page.locator('[data-testid="stale"]').count(), 0);
  await server.restart({
    beforeStart: async () => {
      await alice.page.waitForSelector('[data-testid="stale"]', { timeout: 15_000 });
      assert.equal(await alice.page.locator('[data-testid="cancel"]').isDisabled(), true, 'no cancel on stale state');
      await alice.page.screenshot({ path: `${shots}/job-stale.png` });
    },
  });
  await alice.page.waitForSelector('[data-testid="live-indicator"].on', { timeout: 30_000 });
  await alice.page.waitForSelector('[data-testid="stale"]', { state: 'detached', timeout: 5_000 });
  assert.equal((await status.textContent())?.trim(), 'running', 'the job outlived the restart');
  await alice.page.click('[data-testid="cancel"]');
  await alice.page.waitForFunction(() => document.querySelector('.page-head [data-testid="status"]')?.textContent === 'cancelled', null, { timeout: 15_000 });
  const job = await (await server.api(`/api/jobs/${id}`)).json();
  assert.equal(job.status, 'cancelled');
  assert.deepEqual(alice.errors.filter((e) => !/WebSocket|ERR_CONNECTION_REFUSED|Failed to load resource/.test(e)), []);
  await alice.context.close();
});

// Issue 29: a session revoked elsewhere (signed out in another tab) and then used on the open
// Account page shows the sign-in prompt, not a decoding error.
test('an action with a revoked session asks to sign in again', async () => {
  const bob = await signIn('bob');
  await bob.page.goto(`${server.url}/account`);
  await waitHydrated(bob.page);
  const cookies = await bob.context.cookies();
  const header = cookies.map((c) => `${c.name}=${c.value}`).join('; ');
  const out = await fetch(`${server.url}/api/auth/logout`, { method: 'POST', headers: { cookie: header, 'content-type': 'application/json' }, body: '{}' });
  assert.ok(out.status < 300, `sign-out: ${out.status}`);
  // The browser still holds the (now revoked) cookies and the page still shows the user.
  await bob.page.fill('[data-testid="token-name"]', 'after-revoke');
  await bob.page.click('[data-testid="token-form"] button[type="submit"]');
  await bob.page.waitForSelector('[data-testid="sign-in-required"], .error', { timeout: 15_000 });
  const text = await bob.page.locator('main').textContent();
  assert.doesNotMatch(text, /deserializ|unknown variant/i, text);
  assert.equal(await bob.page.locator('[data-testid="sign-in-required"]').count() > 0, true, text);
  await bob.page.screenshot({ path: `${shots}/session-revoked.png` });
  await bob.context.close();
});
