// Shared helpers: start the real server binary on a free port with a fresh data dir, and
// launch Debian's Chromium headless with WebGL2 through SwiftShader.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/// Starts the server on a fresh data dir and signs in as the first-start `admin` through the
/// one-time link the server prints. The returned object carries the session cookies (for
/// browsers), an admin API token, and `api(path, init)`: `fetch` with that token.
export async function startServer(env = {}) {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'ch-e2e-'));
  const fullEnv = {
    CH_DATA_DIR: dataDir,
    // One browser session is shared by all pages of a test file: keep its access token valid
    // for the whole file so no two pages race to rotate the refresh token.
    CH_AUTH__ACCESS_TTL_SECS: '7200',
    ...env,
  };
  let { child, url, log: logOf } = await spawnServer({ CH_LISTEN: '127.0.0.1:0', ...fullEnv });
  const link = await waitFor(() => /(http:\/\/\S+\/api\/auth\/link\?token=\S+)/.exec(logOf())?.[1], () => logOf());
  const signIn = await fetch(link, { redirect: 'manual' });
  const cookies = signIn.headers.getSetCookie().map((c) => {
    const [pair] = c.split(';');
    const i = pair.indexOf('=');
    return { name: pair.slice(0, i), value: pair.slice(i + 1), url };
  });
  if (!cookies.some((c) => c.name === 'ch_access')) throw new Error(`sign-in link gave no session: ${signIn.status}`);
  const cookieHeader = cookies.map((c) => `${c.name}=${c.value}`).join('; ');
  const created = await fetch(`${url}/api/tokens`, {
    method: 'POST',
    headers: { cookie: cookieHeader, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'e2e', scopes: ['admin'] }),
  });
  if (created.status !== 201) throw new Error(`token: ${created.status} ${await created.text()}`);
  const { token } = await created.json();
  return {
    url,
    link,
    cookies,
    token,
    log: () => logOf(),
    /// Stops the server (SIGTERM) and starts it again on the same address and data.
    async restart({ beforeStart = async () => {} } = {}) {
      await stopChild(child);
      await beforeStart();
      ({ child, log: logOf } = await spawnServer({ CH_LISTEN: new URL(url).host, ...fullEnv }));
    },
    /// `fetch(url + path)` as the admin (API token).
    api(p, init = {}) {
      return fetch(`${url}${p}`, { ...init, headers: { authorization: `Bearer ${token}`, ...(init.headers ?? {}) } });
    },
    async stop() {
      await stopChild(child);
      // Jobs outlive the server that started them: stop this data directory's.
      killJobs(path.join(dataDir, 'jobs'));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/// Kills every process of the jobs under `jobsDir` (each job's processes carry `CH_JOB_ID` in
/// their environment); Linux only, a no-op elsewhere.
function killJobs(jobsDir) {
  let ids = [];
  try {
    ids = readdirSync(jobsDir);
  } catch {
    return;
  }
  const markers = new Set(ids.map((id) => `CH_JOB_ID=${id}`));
  let procs = [];
  try {
    procs = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return;
  }
  for (const pid of procs) {
    try {
      const env = readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0');
      if (env.some((v) => markers.has(v))) process.kill(Number(pid), 'SIGKILL');
    } catch {
      // Gone already, or not ours to read.
    }
  }
}

/// Stops a child process: SIGTERM, then SIGKILL if it has not exited after `graceMs`. Resolves
/// once it has exited — at once if it already had (waiting for an `exit` event that has already
/// fired would hang forever) — and never later than `graceMs` after the SIGKILL.
export async function stopChild(child, graceMs = 15_000) {
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  if (exited()) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timeout = (ms) => new Promise((r) => setTimeout(() => r('timeout'), ms).unref());
  if ((await Promise.race([gone, timeout(graceMs)])) !== 'timeout' || exited()) return;
  console.error(`process ${child.pid} still running ${graceMs} ms after SIGTERM: SIGKILL`);
  child.kill('SIGKILL');
  if ((await Promise.race([gone, timeout(graceMs)])) === 'timeout' && !exited()) {
    throw new Error(`process ${child.pid} did not exit after SIGKILL`);
  }
}

/// Spawns the server binary with `env` and waits until it listens; its child process, URL and
/// log so far.
async function spawnServer(env) {
  const bin = process.env.CH_BIN ?? path.join(root, 'target/debug/cosmic-horizons');
  const child = spawn(bin, ['serve'], {
    cwd: root,
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Whatever ends this test process, the server goes with it.
  process.once('exit', () => child.kill('SIGKILL'));
  let log = '';
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${log}`)), 30_000);
    const onData = (chunk) => {
      log += chunk;
      const m = /listening on (http:\/\/[\d.]+:\d+)/.exec(log.replace(/\x1b\[[0-9;]*m/g, ''));
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`server exited with ${code}:\n${log}`)));
  });
  return { child, url, log: () => log };
}

async function waitFor(probe, log, ms = 10_000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out; server log:\n${log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/// Makes every page and context `browser` opens start signed in with `cookies`.
export function signedIn(browser, cookies) {
  const newContext = browser.newContext.bind(browser);
  browser.newContext = async (opts) => {
    const context = await newContext(opts);
    await context.addCookies(cookies);
    return context;
  };
  browser.newPage = async (opts) => {
    const context = await browser.newContext(opts);
    const page = await context.newPage();
    page.once('close', () => context.close().catch(() => {}));
    return page;
  };
  return browser;
}

/// Signs `user` in through the sign-in form in a new 1400×900 context of `browser`, landing on
/// `next` hydrated; the context, its page and the page's console errors.
export async function signInWithPassword(browser, server, user, password, next = '/') {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  const errors = watchErrors(page);
  await page.goto(`${server.url}/login?next=${encodeURIComponent(next)}`);
  await page.fill('#login-username', user);
  await page.fill('#login-password', password);
  await page.click('[data-testid="login-submit"]');
  await page.waitForURL(`${server.url}${next}`);
  await waitHydrated(page);
  return { context, page, errors };
}

/// Headless Chromium drawing WebGL2 with SwiftShader; with `webgpu`, also offering WebGPU
/// (Dawn on SwiftShader's Vulkan), which the viewer then prefers. Without the three Vulkan
/// flags `--enable-unsafe-webgpu` alone gives an adapter whose device is lost at once.
export async function launchBrowser({ webgpu = false } = {}) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--use-angle=swiftshader',
      '--enable-unsafe-swiftshader',
      ...(webgpu
        ? ['--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-vulkan=swiftshader', '--use-webgpu-adapter=swiftshader']
        : []),
    ],
  });
}

/// Longest a before/after hook may take (node's default is no limit at all).
export const HOOK_TIMEOUT_MS = 120_000;

/// For a test file: starts the server and Chromium before its tests and stops both after them.
/// `server` and `browser` of the returned object are set once the tests run.
/// With `webgpu`, `env.webgpu` is a second browser that offers WebGPU (see [launchBrowser]).
export function serverAndBrowser({ webgpu = false } = {}) {
  const env = { server: null, browser: null, webgpu: null };
  before(async () => {
    env.server = await startServer();
    env.browser = signedIn(await launchBrowser(), env.server.cookies);
    if (webgpu) env.webgpu = signedIn(await launchBrowser({ webgpu: true }), env.server.cookies);
  }, { timeout: HOOK_TIMEOUT_MS });
  after(async () => {
    await env.webgpu?.close();
    await env.browser?.close();
    await env.server?.stop();
  }, { timeout: HOOK_TIMEOUT_MS });
  return env;
}

/// Collects page errors so a test can assert the WASM module never panicked.
export function watchErrors(page) {
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  return errors;
}

/// Resolves once hydration is done: the live indicator turns on after the WebSocket opens,
/// which only the hydrated app does.
export async function waitHydrated(page) {
  await page.waitForSelector('[data-testid="live-indicator"].on', { timeout: 30_000 });
}

/// A minimal FITS file: one float32 image HDU (`values` row-major, row 0 = FITS row 1) with
/// optional extra header cards `{ KEY: value }` (strings are quoted, numbers/booleans as is).
export function fitsImage(width, height, values, extra = {}, planes = 1) {
  return imageHdu(false, width, height, values, extra, planes);
}

/// An `IMAGE` extension HDU to append to a file made by `fitsImage`.
export function fitsExtension(width, height, values, extra = {}) {
  return imageHdu(true, width, height, values, extra, 1);
}

function card(key, value) {
  let v;
  if (typeof value === 'string') v = `'${value.padEnd(8)}'`.padEnd(20);
  else if (typeof value === 'boolean') v = (value ? 'T' : 'F').padStart(20);
  else v = String(value).padStart(20);
  return `${key.padEnd(8)}= ${v}`.padEnd(80).slice(0, 80);
}

function imageHdu(extension, width, height, values, extra, planes) {
  const cards = [
    extension ? card('XTENSION', 'IMAGE') : card('SIMPLE', true),
    card('BITPIX', -32),
    card('NAXIS', planes > 1 ? 3 : 2),
    card('NAXIS1', width),
    card('NAXIS2', height),
    ...(planes > 1 ? [card('NAXIS3', planes)] : []),
    ...(extension ? [card('PCOUNT', 0), card('GCOUNT', 1)] : []),
    ...Object.entries(extra).map(([k, v]) => card(k, v)),
    'END'.padEnd(80),
  ];
  let header = cards.join('');
  header = header.padEnd(Math.ceil(header.length / 2880) * 2880);
  const count = width * height * planes;
  const dataBytes = Math.ceil((count * 4) / 2880) * 2880;
  const out = new Uint8Array(header.length + dataBytes);
  for (let i = 0; i < header.length; i++) out[i] = header.charCodeAt(i);
  const view = new DataView(out.buffer, header.length);
  for (let i = 0; i < count; i++) view.setFloat32(i * 4, values[i], false);
  return out;
}

/// A test image: ramp plus a Gaussian, a NaN-blanked corner, with a TAN WCS and a beam.
export function testImage(width = 64, height = 48, wcs = {}) {
  const values = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const r2 = (x - 40) ** 2 + (y - 20) ** 2;
      values[y * width + x] = x * 0.05 + y * 0.1 + 30 * Math.exp(-r2 / 40);
      if (x < 6 && y < 6) values[y * width + x] = NaN;
    }
  }
  return fitsImage(width, height, values, {
    BUNIT: 'JY/BEAM',
    CTYPE1: 'RA---TAN',
    CTYPE2: 'DEC--TAN',
    CRPIX1: 32,
    CRPIX2: 24,
    CRVAL1: 150.0,
    CRVAL2: 2.2,
    CDELT1: -0.001,
    CDELT2: 0.001,
    BMAJ: 0.003,
    BMIN: 0.002,
    ...wcs,
  });
}

/// Compares two RGBA byte arrays; returns how many pixels differ by more than `tol` in a channel
/// and the largest difference.
export function comparePixels(got, want, tol = 2) {
  let bad = 0;
  let worst = 0;
  for (let p = 0; p < want.length; p += 4) {
    let off = false;
    for (let c = 0; c < 4; c++) {
      const d = Math.abs(got[p + c] - want[p + c]);
      worst = Math.max(worst, d);
      if (d > tol) off = true;
    }
    if (off) bad++;
  }
  return { bad, worst, pixels: want.length / 4 };
}
