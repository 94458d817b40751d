// Notifications in the browser: a scientist's job fails while their dashboard is open → the
// bell's badge counts it without a reload; the inbox lists it; marking it read clears the
// badge; the rules form saves what the user is told about and names a bad e-mail address.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import { HOOK_TIMEOUT_MS, launchBrowser, signInWithPassword, startServer, waitHydrated } from './support.mjs';

const shots = process.env.CH_SCREENSHOTS ?? 'target/screenshots';
mkdirSync(shots, { recursive: true });
const PASSWORD = 'a long e2e password';
const json = (method, body) => ({ method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

let server;
let browser;
let smtp;

/// aiosmtpd (the Python `cargo xtask test` installs; `CH_AIOSMTPD_PYTHON`) on a free port,
/// storing what it accepts in a Maildir; `null` when it is not installed (outside CI).
async function startSmtp() {
  const python = process.env.CH_AIOSMTPD_PYTHON
    ?? path.join(process.env.HOME ?? '', '.cache/cosmic-horizons/aiosmtpd-1.4.6/bin/python');
  if (!existsSync(python)) {
    if (process.env.CI === 'true') throw new Error('CI=true: aiosmtpd is missing (CH_AIOSMTPD_PYTHON)');
    return null;
  }
  const port = await new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const p = probe.address().port;
      probe.close(() => resolve(p));
    });
  });
  const dir = mkdtempSync(path.join(tmpdir(), 'ch-smtp-'));
  const child = spawn(python, ['-m', 'aiosmtpd', '-n', '-l', `127.0.0.1:${port}`, '-c', 'aiosmtpd.handlers.Mailbox', path.join(dir, 'mail')], {
    stdio: 'ignore',
  });
  process.once('exit', () => child.kill('SIGKILL'));
  for (let i = 0; i < 100; i++) {
    const up = await new Promise((r) => {
      const c = createConnection(port, '127.0.0.1', () => { c.end(); r(true); });
      c.on('error', () => r(false));
    });
    if (up) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const mails = () => {
    try {
      return readdirSync(path.join(dir, 'mail/new')).map((f) => readFileSync(path.join(dir, 'mail/new', f), 'utf8'));
    } catch {
      return [];
    }
  };
  return { port, mails, stop: () => child.kill('SIGKILL') };
}

before(async () => {
  smtp = await startSmtp();
  // The webhook receiver below listens on this host; e-mail goes to the aiosmtpd above.
  server = await startServer({
    CH_NOTIFY__WEBHOOKS__ALLOW_PRIVATE: 'true',
    CH_NOTIFY__WEBHOOKS__RETRY_BASE_MS: '200',
    ...(smtp
      ? {
          CH_NOTIFY__SMTP__HOST: '127.0.0.1',
          CH_NOTIFY__SMTP__PORT: String(smtp.port),
          CH_NOTIFY__SMTP__SECURITY: 'plain',
          CH_NOTIFY__SMTP__FROM: 'Cosmic Horizons <horizons@example.org>',
        }
      : {}),
  });
  browser = await launchBrowser();
  assert.equal((await server.api('/api/projects', json('POST', { name: 'radio' }))).status, 201);
  const res = await server.api('/api/users', json('POST', { username: 'ada', password: PASSWORD, role: 'scientist' }));
  assert.equal(res.status, 201, await res.text());
  const m = await server.api('/api/projects/radio/members', json('PUT', { username: 'ada', role: 'member' }));
  assert.equal(m.status, 204);
}, { timeout: HOOK_TIMEOUT_MS });

after(async () => {
  await browser?.close();
  await server?.stop();
  smtp?.stop();
}, { timeout: HOOK_TIMEOUT_MS });

test('a failed job reaches the bell live, the inbox lists it, and marking it read clears the badge', async () => {
  const { context, page, errors } = await signInWithPassword(browser, server, 'ada', PASSWORD);
  await page.evaluate(() => { window.__sameDocument = true; });
  const bell = page.locator('[data-testid="bell"]');
  const count = page.locator('[data-testid="bell-count"]');
  await bell.waitFor();
  assert.equal(await count.isHidden(), true, 'nothing unread at first');

  // Ada submits from her own session (the job is hers), as a script in her tab would.
  const submitted = await page.evaluate(async () => {
    const res = await fetch('/api/jobs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'calibrate', project: 'radio', command: 'echo bad input >&2; exit 3', max_retries: 0 }),
    });
    return { status: res.status, body: await res.json() };
  });
  assert.equal(submitted.status, 201, JSON.stringify(submitted.body));
  const started = Date.now();
  await page.waitForFunction(() => document.querySelector('[data-testid="bell-count"]')?.textContent === '1', null, {
    timeout: 20_000,
  });
  console.log(`submit → badge: ${Date.now() - started} ms (job start and run included)`);
  assert.equal(await bell.getAttribute('aria-label'), 'Notifications: 1 unread');
  assert.equal(await page.evaluate(() => window.__sameDocument), true, 'no reload');

  await bell.click();
  await page.waitForURL(`${server.url}/notifications`);
  const item = page.locator('[data-testid="notification"]').first();
  await item.waitFor();
  assert.equal(await item.getAttribute('data-kind'), 'failed');
  assert.match(await item.textContent(), /Job 'calibrate' failed/);
  assert.match(await item.textContent(), /exit code 3/);
  assert.match(await item.getAttribute('class'), /unread/);
  await page.screenshot({ path: `${shots}/notifications-inbox.png` });

  await item.locator('[data-testid="toggle-read"]').click();
  await page.waitForFunction(() => !document.querySelector('[data-testid="notification"]')?.classList.contains('unread'), null, {
    timeout: 10_000,
  });
  await page.waitForFunction(() => document.querySelector('[data-testid="bell-count"]')?.hidden === true, null, {
    timeout: 10_000,
  });
  assert.equal(await bell.getAttribute('aria-label'), 'Notifications: none unread');

  // Rules: only starts from now on.
  await page.uncheck('input[data-kind="failed"]');
  await page.uncheck('input[data-kind="completed"]');
  await page.check('input[data-kind="started"]');
  await page.click('[data-testid="save-rules"]');
  await page.locator('[data-testid="rules-saved"]').waitFor();
  const rules = await page.evaluate(async () => (await fetch('/api/notifications/rules')).json());
  assert.deepEqual(rules.kinds, ['started', 'timed_out']);

  // E-mail: a bad address is named and its field marked.
  if (smtp) assert.match(await page.textContent('[data-testid="email-availability"]'), /stops them without signing in/);
  await page.fill('[data-testid="rule-email"]', 'ada at home');
  await page.click('[data-testid="save-rules"]');
  const problem = page.locator('#rule-email-problem');
  await problem.waitFor({ state: 'visible' });
  assert.match(await problem.textContent(), /not an e-mail address/);
  assert.equal(await page.getAttribute('[data-testid="rule-email"]', 'aria-invalid'), 'true');
  await page.fill('[data-testid="rule-email"]', 'ada@example.org');
  await page.click('[data-testid="save-rules"]');
  await page.locator('[data-testid="rules-saved"]').waitFor();
  assert.equal(await page.getAttribute('[data-testid="rule-email"]', 'aria-invalid'), 'false');

  // A watched project, a digest, quiet hours in a time zone; a zone that does not exist is named.
  await page.fill('[data-testid="watch-target"]', 'radio');
  await page.click('[data-testid="add-watch"]');
  const watch = page.locator('[data-testid="watch"]').first();
  await watch.waitFor();
  assert.match(await watch.textContent(), /Project radio/);
  await watch.locator('input[data-kind="completed"]').check();
  await page.fill('[data-testid="rule-zone"]', 'Mars/Olympus');
  await page.click('[data-testid="save-rules"]');
  await page.waitForFunction(() => document.querySelector('[data-testid="rule-zone"]')?.getAttribute('aria-invalid') === 'true', null, {
    timeout: 10_000,
  });
  await page.fill('[data-testid="rule-zone"]', 'Europe/Berlin');
  await page.selectOption('[data-testid="rule-digest"]', 'daily');
  await page.check('[data-testid="rule-quiet"]');
  await page.click('[data-testid="save-rules"]');
  await page.locator('[data-testid="rules-saved"]').waitFor();
  await page.screenshot({ path: `${shots}/notifications-rules.png`, fullPage: true });
  const saved = await page.evaluate(async () => (await fetch('/api/notifications/rules')).json());
  assert.deepEqual(saved.watches, [{ project: 'radio', job_id: null, kinds: ['completed', 'failed', 'timed_out'] }]);
  assert.deepEqual(
    [saved.email_digest, saved.time_zone, saved.quiet_hours],
    ['daily', 'Europe/Berlin', { start: '22:00', end: '07:00' }],
  );
  // Back to each e-mail at once and no watch, for the tests below.
  await watch.locator('[data-testid="remove-watch"]').click();
  await page.selectOption('[data-testid="rule-digest"]', 'off');
  await page.uncheck('[data-testid="rule-quiet"]');
  await page.click('[data-testid="save-rules"]');
  await page.waitForFunction(async () => {
    const r = await (await fetch('/api/notifications/rules')).json();
    return r.watches.length === 0 && r.email_digest === 'off' && r.quiet_hours === null;
  }, null, { timeout: 10_000 });
  // The browser logs the refused save (422) as a failed resource; nothing else may fail.
  assert.deepEqual(errors.filter((e) => !/status of 422/.test(e)), []);
  await context.close();
});

test('the submit form lets a job choose what its owner hears about', async () => {
  const { context, page, errors } = await signInWithPassword(browser, server, 'ada', PASSWORD, '/submit');
  const choice = page.locator('[data-testid="notify-choice"]');
  await choice.waitFor();
  assert.equal(await choice.locator('input[data-kind="failed"]').isVisible(), false, 'the rules decide at first');
  await page.fill('input[name="name"]', 'chosen');
  await page.fill('textarea[name="command"]', 'true');
  await page.check('[data-testid="notify-own"]');
  await choice.locator('input[data-kind="started"]').check();
  await choice.locator('input[data-kind="completed"]').uncheck();
  await page.click('[data-testid="submit-form"] button[type="submit"]');
  await page.waitForURL(/\/jobs\/[0-9a-f-]{36}$/, { timeout: 20_000 });
  const id = page.url().split('/').pop();
  const job = await page.evaluate(async (id) => (await fetch(`/api/jobs/${id}`)).json(), id);
  assert.deepEqual(job.notify, ['started', 'failed', 'timed_out']);
  assert.deepEqual(errors, []);
  await context.close();
});

test('a webhook added on the page receives the next notification, signed, and its log says so', async () => {
  // A receiver that refuses the first request (503), then verifies and accepts.
  const got = [];
  let refuse = 1;
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      got.push({ headers: req.headers, body });
      res.statusCode = refuse-- > 0 ? 503 : 200;
      res.end();
    });
  });
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
  const hookUrl = `http://127.0.0.1:${receiver.address().port}/hook`;
  try {
    const { context, page, errors } = await signInWithPassword(browser, server, 'ada', PASSWORD, '/notifications');
    // A bad URL is named first.
    await page.fill('[data-testid="webhook-url"]', 'ftp://example.org/x');
    await page.click('[data-testid="add-webhook"]');
    await page.locator('#webhook-url-problem').waitFor({ state: 'visible' });
    assert.match(await page.textContent('#webhook-url-problem'), /not http or https/);
    await page.fill('[data-testid="webhook-url"]', hookUrl);
    await page.fill('[data-testid="webhook-description"]', 'lab bot');
    await page.click('[data-testid="add-webhook"]');
    const hook = page.locator('[data-testid="webhook"]');
    await hook.waitFor();
    await hook.locator('[data-testid="show-secret"]').click();
    const secret = (await hook.locator('[data-testid="webhook-secret"]').textContent()).trim();
    assert.match(secret, /^whsec_/);

    // Ada's rules (from the first test) tell her about starts: submit one.
    const res = await page.evaluate(async () => {
      const r = await fetch('/api/jobs', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'hooked', project: 'radio', command: 'true' }),
      });
      return r.status;
    });
    assert.equal(res, 201);
    await page.waitForSelector('[data-testid="delivery"][data-status="sent"]', { timeout: 20_000 });
    assert.equal(got.length, 2, 'refused once, then taken');
    const { headers, body } = got[1];
    assert.equal(headers['webhook-id'], got[0].headers['webhook-id'], 'the same id on the retry');
    const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
    const want = createHmac('sha256', key).update(`${headers['webhook-id']}.${headers['webhook-timestamp']}.${body}`).digest('base64');
    assert.equal(headers['webhook-signature'], `v1,${want}`);
    assert.equal(JSON.parse(body).data.notification.kind, 'started');
    const row = page.locator('[data-testid="delivery"]').first();
    assert.match(await row.textContent(), /HTTP 200/);
    await page.screenshot({ path: `${shots}/notifications-webhooks.png`, fullPage: true });
    assert.deepEqual(errors.filter((e) => !/status of 422/.test(e)), []);
    await context.close();
  } finally {
    receiver.close();
  }
});

test('with an address in the rules, a failed job is e-mailed through the SMTP server', async (t) => {
  if (!smtp) {
    t.skip('no aiosmtpd (cargo xtask test installs it)');
    return;
  }
  const { context, page, errors } = await signInWithPassword(browser, server, 'ada', PASSWORD, '/notifications');
  await page.check('input[data-kind="failed"]');
  await page.fill('[data-testid="rule-email"]', 'ada@example.org');
  await page.click('[data-testid="save-rules"]');
  await page.locator('[data-testid="rules-saved"]').waitFor();
  const status = await page.evaluate(async () => {
    const r = await fetch('/api/jobs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'mailed', project: 'radio', command: 'exit 4', max_retries: 0 }),
    });
    return r.status;
  });
  assert.equal(status, 201);
  const started = Date.now();
  let mail;
  while (Date.now() - started < 20_000 && !mail) {
    mail = smtp.mails().find((m) => m.includes("Subject: Job 'mailed' failed"));
    if (!mail) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(mail, `no e-mail; got ${smtp.mails().length}`);
  assert.match(mail, /^To: ada@example\.org/m);
  assert.match(mail, /^List-Unsubscribe: /m);
  console.log(`submit → e-mail accepted by the SMTP server: ${Date.now() - started} ms (job start and run included)`);
  assert.deepEqual(errors, []);
  await context.close();
});
