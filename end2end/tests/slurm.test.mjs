// Issue 12, a job through the UI to a Slurm system of the real test cluster (`cargo xtask slurm`,
// started by the test command before these tests): the submit form shows the system's queue and
// when a job like this would start, refuses resources beyond the node's; the job page shows the
// Slurm job id, its state and why it waits (live), and once it ended its accounting with the
// actual cost next to the estimate. Without a cluster the test is skipped, with CI=true it fails.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { HOOK_TIMEOUT_MS, launchBrowser, signedIn, startServer, waitHydrated, watchErrors } from './support.mjs';

const shots = process.env.CH_SCREENSHOTS ?? 'target/screenshots';
mkdirSync(shots, { recursive: true });

/// Whether `sinfo` answers with a usable node (within 30 s, as the Rust tests wait).
async function clusterUp() {
  const end = Date.now() + 30_000;
  for (;;) {
    try {
      const out = execFileSync('sinfo', ['-h', '-o', '%T'], { timeout: 10_000, encoding: 'utf8' });
      if (/^(idle|mixed|allocated)$/m.test(out)) return true;
    } catch {
      // Not installed, or the controller does not answer (yet).
    }
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 500));
  }
}

const up = await clusterUp();
if (!up && process.env.CI === 'true') throw new Error('no Slurm cluster answers sinfo (CI=true requires one: cargo xtask slurm)');

let server;
let browser;
const submitted = [];
const blockers = [];

before(async () => {
  if (!up) return;
  const dir = mkdtempSync(path.join(tmpdir(), 'ch-e2e-slurm-'));
  const config = path.join(dir, 'cosmic-horizons.toml');
  writeFileSync(
    config,
    [
      '[systems.cluster]',
      'description = "the test Slurm cluster"',
      'executor = "slurm"',
      'partition = "debug"',
      'account = "testacct"',
      'rates = { cpu_core_hour_usd = 36.0, gpu_hour_usd = 72.0 }',
      '[slurm]',
      'poll_interval_ms = 200',
      'max_poll_interval_ms = 1000',
      '',
    ].join('\n'),
  );
  server = await startServer({ CH_CONFIG: config });
  browser = signedIn(await launchBrowser(), server.cookies);
}, { timeout: HOOK_TIMEOUT_MS });

after(async () => {
  for (const id of blockers) {
    try {
      execFileSync('scancel', [id], { timeout: 20_000 });
    } catch {
      // Already gone.
    }
  }
  for (const id of submitted) {
    try {
      execFileSync('scancel', ['-n', `ch-${id}`], { timeout: 20_000 });
    } catch {
      // Already gone.
    }
  }
  await browser?.close();
  await server?.stop();
}, { timeout: HOOK_TIMEOUT_MS });

test('a job submitted in the UI runs on Slurm and shows its Slurm id, state and accounting', { skip: !up && 'no Slurm cluster' }, async () => {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  const errors = watchErrors(page);
  await page.goto(`${server.url}/submit`);
  await waitHydrated(page);
  await page.waitForSelector('select[name="target_system"] option[value="cluster"]', { state: 'attached' });
  await page.selectOption('select[name="target_system"]', 'cluster');
  // The queue, asked of Slurm for these resources before anything is submitted.
  const queue = page.locator('[data-testid="queue"]');
  await queue.waitFor({ timeout: 30_000 });
  assert.match(await queue.textContent(), /Queue on cluster \(partition debug\): \d+ pending, \d+ running\. A job like this would start/);

  // More GPUs than the node has: refused in the form, naming the field, before Slurm sees it.
  await page.fill('input[name="resources.gpus"]', '3');
  await page.fill('input[name="name"]', 'slurm from the browser');
  await page.fill('textarea[name="command"]', 'echo PROGRESS 50; sleep 2; echo slurm-done');
  await page.click('button[type="submit"]');
  const gpuError = page.locator('[data-field="resources.gpus"]');
  await gpuError.waitFor({ timeout: 15_000 });
  assert.match(await gpuError.textContent(), /at most 2/);
  await page.fill('input[name="resources.gpus"]', '1');
  await page.fill('input[name="resources.memory_gb"]', '0.1');
  await page.fill('input[name="resources.max_runtime_minutes"]', '5');
  // Another job holds both GPUs for up to 2 minutes: Slurm plans ours after it.
  const blocker = execFileSync('sbatch', ['--parsable', '-J', 'e2e-blocker', '--gres=gpu:2', '--mem=100M', '-t', '2', '-o', '/dev/null', '--wrap', 'sleep 120'], { encoding: 'utf8', timeout: 20_000 }).trim();
  blockers.push(blocker);
  await page.fill('input[name="resources.max_runtime_minutes"]', '4');
  await page.waitForFunction(() => /would start in about [12] min/.test(document.querySelector('[data-testid="queue"]')?.textContent ?? ''), null, { timeout: 30_000 });
  await page.screenshot({ path: `${shots}/slurm-submit.png`, fullPage: true });
  await page.click('button[type="submit"]');
  await page.waitForURL(/\/jobs\/[0-9a-f-]{36}$/);
  const id = new URL(page.url()).pathname.split('/').pop();
  submitted.push(id);

  // The Slurm job id Slurm gave it, as squeue knows it by its name.
  const card = page.locator('[data-testid="scheduler"]');
  await card.waitFor({ timeout: 30_000 });
  const slurmId = page.locator('[data-testid="scheduler-job-id"]');
  await page.waitForFunction(() => /^\d+$/.test(document.querySelector('[data-testid="scheduler-job-id"]')?.textContent ?? ''), null, { timeout: 30_000 });
  const known = execFileSync('squeue', ['-h', '-t', 'all', '-o', '%i', '-n', `ch-${id}`], { encoding: 'utf8', timeout: 20_000 }).trim();
  assert.equal(await slurmId.textContent(), known);

  // While the blocker runs, the page says why ours waits, live; then it runs.
  await page.waitForFunction(() => document.querySelector('[data-testid="scheduler-state"]')?.textContent === 'PENDING (Resources)', null, { timeout: 30_000 });
  assert.match(await page.locator('[data-testid="events"]').textContent(), /Slurm job \d+: PENDING \(Resources\)/);
  await page.screenshot({ path: `${shots}/slurm-pending.png`, fullPage: true });
  execFileSync('scancel', [blocker], { timeout: 20_000 });

  // Completed, with accounting: elapsed time, efficiency and the actual cost beside the estimate.
  await page.waitForSelector('[data-testid="scheduler-cost"]', { timeout: 60_000 });
  assert.match(await page.locator('[data-testid="scheduler-state"]').textContent(), /^COMPLETED/);
  assert.match(await page.locator('[data-testid="scheduler-cost"]').textContent(), /^\$\d+\.\d\d \(estimate \$\d+\.\d\d\)$/);
  assert.match(await page.locator('[data-testid="scheduler-cpu-efficiency"]').textContent(), /^\d+\.\d %$/);
  assert.match(await page.locator('[data-testid="stdout"]').textContent(), /slurm-done/);
  await page.screenshot({ path: `${shots}/slurm-job.png`, fullPage: true });
  const job = await (await server.api(`/api/jobs/${id}`)).json();
  assert.equal(job.status, 'completed');
  assert.equal(job.executor, 'slurm');
  assert.deepEqual(errors, []);
  await context.close();
});
