// Accounts in a real browser: two users in different projects each see only their own
// project's jobs; a viewer cannot submit; signing out revokes the session (the old cookie no
// longer works); the first-start sign-in link (used by the shared set-up) signed in `admin`.
// The whole file runs twice: on SQLite and on PostgreSQL.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { HOOK_TIMEOUT_MS, launchBrowser, startServer, waitHydrated, watchErrors } from './support.mjs';

const shots = process.env.CH_SCREENSHOTS ?? 'target/screenshots';
mkdirSync(shots, { recursive: true });
const PASSWORD = 'a long e2e password';
const PG_ADMIN = process.env.CH_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/// A fresh PostgreSQL database for one run (psql, as the Rust tests' helper does in SQL).
function postgresDatabase() {
  const name = `ch_e2e_${Date.now()}_${process.pid}`;
  execFileSync('psql', [PG_ADMIN, '-qc', `create database ${name}`]);
  return {
    url: `${PG_ADMIN.slice(0, PG_ADMIN.lastIndexOf('/'))}/${name}`,
    drop: () => execFileSync('psql', [PG_ADMIN, '-qc', `drop database if exists ${name} with (force)`]),
  };
}

for (const backend of ['sqlite', 'postgres']) {
  describe(`accounts on ${backend}`, () => suite(backend));
}

function suite(backend) {
  let server;
  let browser;
  let database;

  before(async () => {
    database = backend === 'postgres' ? postgresDatabase() : null;
    server = await startServer(database ? { CH_DATABASE_URL: database.url } : {});
    browser = await launchBrowser();
    const json = (method, body) => ({ method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    for (const name of ['alpha', 'beta']) {
      assert.equal((await server.api('/api/projects', json('POST', { name }))).status, 201);
    }
    for (const [user, role, project] of [
      ['alice', 'scientist', 'alpha'],
      ['bob', 'scientist', 'beta'],
      ['vera', 'viewer', 'alpha'],
    ]) {
      const res = await server.api('/api/users', json('POST', { username: user, password: PASSWORD, role }));
      assert.equal(res.status, 201, await res.text());
      const m = await server.api(`/api/projects/${project}/members`, json('PUT', { username: user, role: 'member' }));
      assert.equal(m.status, 204);
    }
    for (const [name, project] of [['alpha-job', 'alpha'], ['beta-job', 'beta']]) {
      const res = await server.api('/api/jobs', json('POST', { name, command: 'true', project }));
      assert.equal(res.status, 201, await res.text());
    }
  }, { timeout: HOOK_TIMEOUT_MS });

  after(async () => {
    await browser?.close();
    await server?.stop();
    database?.drop();
  }, { timeout: HOOK_TIMEOUT_MS });

  /// A fresh browser context signed in through the login form.
  async function signIn(user) {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const page = await context.newPage();
    const errors = watchErrors(page);
    await page.goto(`${server.url}/`);
    // Anonymous visitors land on the sign-in page, which remembers where they were going.
    await page.waitForURL(/\/login\?next=%2F$/);
    await page.fill('#login-username', user);
    await page.fill('#login-password', PASSWORD);
    await page.click('[data-testid="login-submit"]');
    await page.waitForURL(`${server.url}/`);
    await waitHydrated(page);
    assert.equal((await page.textContent('[data-testid="user-name"]')).trim(), user);
    return { context, page, errors };
  }

  test('a wrong password is refused on the sign-in page', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/login`);
    await page.fill('#login-username', 'alice');
    await page.fill('#login-password', 'not the password');
    await page.click('[data-testid="login-submit"]');
    await page.waitForSelector('[data-testid="login-error"]');
    assert.match(await page.textContent('[data-testid="login-error"]'), /invalid username or password/);
    assert.equal(await page.getAttribute('#login-username', 'aria-invalid'), 'true');
    if (backend === 'sqlite') await page.screenshot({ path: `${shots}/login.png` });
    await page.close();
  });

  test('users in different projects each see only their own jobs', async () => {
    for (const [user, mine, theirs] of [['alice', 'alpha-job', 'beta-job'], ['bob', 'beta-job', 'alpha-job']]) {
      const { context, page, errors } = await signIn(user);
      await page.waitForSelector('[data-testid="job-table"]');
      const names = await page.locator('[data-testid="job-table"] tbody td:first-child').allTextContents();
      assert.ok(names.includes(mine), `${user} sees ${names}`);
      assert.ok(!names.includes(theirs), `${user} must not see ${theirs}: ${names}`);
      if (user === 'alice' && backend === 'sqlite') await page.screenshot({ path: `${shots}/dashboard-alice.png` });
      // Their job's page is "not found" for the other user, as for a job that does not exist.
      const other = await server.api(`/api/jobs?project=${theirs.split('-')[0]}`);
      const [job] = (await other.json()).jobs;
      const res = await context.request.get(`${server.url}/api/jobs/${job.id}`);
      assert.equal(res.status(), 404);
      assert.deepEqual(errors, []);
      await context.close();
    }
  });

  // The form is not offered to a viewer (issue 29: the projects they may submit to are none),
  // and the server refuses a submission from their session all the same, naming the reason.
  test('a viewer cannot submit', async () => {
    const { context, page } = await signIn('vera');
    await page.goto(`${server.url}/submit`);
    await waitHydrated(page);
    await page.waitForSelector('[data-testid="no-project"]');
    assert.equal(await page.locator('[data-testid="submit-form"]').count(), 0);
    const res = await context.request.post(`${server.url}/api/jobs`, {
      headers: { 'content-type': 'application/json' },
      data: JSON.stringify({ name: 'viewer try', project: 'alpha', command: 'true' }),
    });
    assert.equal(res.status(), 403);
    assert.match(await res.text(), /viewer/);
    await context.close();
  });

  test('signing out revokes the session: the old cookie no longer works', async () => {
    const { context, page } = await signIn('alice');
    const cookies = await context.cookies();
    assert.ok(cookies.some((c) => c.name === 'ch_access' && c.httpOnly));
    await page.goto(`${server.url}/account`);
    await page.waitForSelector('[data-testid="token-form"]');
    await waitHydrated(page);
    await page.fill('[data-testid="token-name"]', 'laptop');
    await page.click('[data-testid="token-form"] button[type="submit"]');
    const token = (await page.textContent('[data-testid="new-token"]')).trim();
    assert.match(token, /^cht_[0-9a-f]{32}_[0-9a-f]{64}$/);
    if (backend === 'sqlite') await page.screenshot({ path: `${shots}/account.png`, fullPage: true });
    const viaToken = await fetch(`${server.url}/api/jobs`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(viaToken.status, 200);
    await page.click('[data-testid="sign-out"]');
    await page.waitForURL(/\/login/);
    await context.close();
    // A new browser that still holds the old cookies is signed out.
    const stale = await browser.newContext();
    await stale.addCookies(cookies);
    const res = await stale.request.get(`${server.url}/api/jobs`);
    assert.equal(res.status(), 401);
    const page2 = await stale.newPage();
    await page2.goto(`${server.url}/`);
    await page2.waitForURL(/\/login/);
    await stale.close();
  });

  test('the first-start link signed in the admin', async () => {
    assert.match(server.link, /\/api\/auth\/link\?token=/);
    const context = await browser.newContext();
    await context.addCookies(server.cookies);
    const page = await context.newPage();
    await page.goto(`${server.url}/admin`);
    await page.waitForSelector('[data-testid="users"]');
    const users = await page.locator('[data-testid="users"] tbody td:first-child').allTextContents();
    assert.deepEqual(users.sort(), ['admin', 'alice', 'bob', 'vera']);
    // The link works once.
    const again = await fetch(server.link, { redirect: 'manual' });
    assert.match(again.headers.get('location'), /^\/login\?error=/);
    await context.close();
  });
}
