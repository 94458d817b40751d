// Mode B canvas in headless Chromium (WebGL2 on SwiftShader; the pixel tests also on WebGPU,
// Dawn on SwiftShader's Vulkan): the GPU's pixels are read back and compared with the CPU
// reference (ch-render compiled to WASM) for several scales, colormaps, blend modes and a
// NaN-containing image; corrupt files show a message and never break the page;
// regions, readout, share links.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { comparePixels, fitsImage, serverAndBrowser, testImage, watchErrors } from './support.mjs';

const shots = process.env.CH_SCREENSHOTS ?? 'target/screenshots';
// `env.webgpu`: a second Chromium that offers WebGPU; the pixel tests run on both backends.
const env = serverAndBrowser({ webgpu: true });
const BACKENDS = [
  ['WebGL2', () => env.browser, /^Gl /],
  ['WebGPU', () => env.webgpu, /^BrowserWebGpu/],
];

mkdirSync(shots, { recursive: true });

async function openViewer(query = '', browser = env.browser) {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const errors = watchErrors(page);
  await page.goto(`${env.server.url}/viewer${query}`);
  // The page opens the sample image first; wait for it so a test's own file replaces it.
  await page.waitForFunction(() => window.__chViewer?.info()?.layers?.length >= 1, null, { timeout: 60_000 });
  return { page, errors };
}

async function loadBytes(page, bytes, name = 'test.fits', replace = true) {
  return page.evaluate(
    ([data, n, r]) => window.__chViewer.loadBytes(new Uint8Array(data), n, r),
    [Array.from(bytes), name, replace],
  );
}

async function gpuVsCpu(page) {
  return page.evaluate(async () => {
    const got = await window.__chViewer.readNative();
    const want = window.__chViewer.cpuReference();
    if (typeof want === 'string') throw new Error(want);
    return { got: Array.from(got.data), want: Array.from(want), width: got.width, height: got.height };
  });
}

const settings = (render, extra = {}) => JSON.stringify({ render, opacity: 1, blend: 'normal', ...extra });

const CASES = [
  ['linear grey min/max', { scale: 'linear', colormap: 'grey' }],
  ['log viridis, NaN colour', { scale: 'log', colormap: 'viridis', nan_rgba: '#ff000080' }],
  ['sqrt inferno inverted', { scale: 'sqrt', colormap: 'inferno', invert: true }],
  ['asinh magma, bias/contrast', { scale: 'asinh', colormap: 'magma', bias: 0.4, contrast: 1.8 }],
  ['power 2.2 cubehelix, 99 %', { scale: { power: 2.2 }, colormap: 'cubehelix', limits: { kind: 'percentile', low: 1, high: 99 } }],
  ['sinh heat, zscale', { scale: 'sinh', colormap: 'heat', limits: { kind: 'zscale' } }],
  ['squared rainbow, manual', { scale: 'squared', colormap: 'rainbow', limits: { kind: 'manual', min: 1, max: 20 } }],
  ['histogram equalisation plasma', { scale: 'histeq', colormap: 'plasma' }],
];

for (const [backend, browser, name] of BACKENDS) test(`${backend}: GPU pixels match the CPU reference for scales, colormaps and NaN`, async () => {
  const { page, errors } = await openViewer('?tile=32', browser());
  assert.equal(await loadBytes(page, testImage()), null);
  const info = await page.evaluate(() => window.__chViewer.info());
  assert.match(info.backend, name);
  assert.equal(info.layers[0].width, 64);
  assert.ok(info.tiles >= 4, `64×48 with 32-pixel tiles must use several textures, got ${info.tiles}`);
  // Both the pipelines specialised per scale and the generic one (drawn until a specialised
  // pipeline is compiled) must match the reference.
  for (const specialised of [true, false]) {
    await page.evaluate((on) => window.__chViewer.specialise(on), specialised);
    for (const [name, render] of CASES) {
      assert.equal(await page.evaluate(([s]) => window.__chViewer.setSettings(0, s), [settings(render)]), null, name);
      const { got, want } = await gpuVsCpu(page);
      assert.equal(got.length, 64 * 48 * 4);
      const cmp = comparePixels(got, want, 2);
      // Float rounding may move a pixel across a colormap step; histogram equalisation uses a
      // 2048-entry table on the GPU.
      const what = `${name}${specialised ? '' : ' (generic pipeline)'}`;
      assert.ok(cmp.bad <= cmp.pixels * 0.01, `${what}: ${cmp.bad} of ${cmp.pixels} pixels differ (worst ${cmp.worst})`);
    }
  }
  await page.evaluate(() => window.__chViewer.specialise(true));
  // On screen, a combination drawn for the first time shows at once with the generic pipeline;
  // its own pipeline is compiled after that frame and then used.
  const before = (await page.evaluate(() => window.__chViewer.info())).pipelines;
  await page.evaluate(([s]) => window.__chViewer.setSettings(0, s), [settings({ scale: 'sinh' }, { blend: 'multiply' })]);
  await page.waitForFunction((n) => window.__chViewer.info().pipelines > n, before, { timeout: 5_000 });
  // The NaN corner shows the NaN colour.
  await page.evaluate(([s]) => window.__chViewer.setSettings(0, s), [settings({ nan_rgba: '#ff0000' })]);
  const { got } = await gpuVsCpu(page);
  assert.deepEqual(got.slice(0, 4), [255, 0, 0, 255]);
  assert.deepEqual(errors, []);
  await page.close();
});

for (const [backend, browser, name] of BACKENDS) test(`${backend}: layers blend on the GPU as the CPU reference composites them`, async () => {
  const { page, errors } = await openViewer('', browser());
  assert.match((await page.evaluate(() => window.__chViewer.info())).backend, name);
  assert.equal(await loadBytes(page, testImage()), null);
  const values = new Float32Array(64 * 48).map((_, i) => ((i * 7919) % 97) / 97);
  assert.equal(await loadBytes(page, fitsImage(64, 48, values), 'noise.fits', false), null);
  for (const [blend, specialised] of ['normal', 'add', 'screen', 'multiply', 'lighten'].flatMap((b) => [[b, true], [b, false]])) {
    await page.evaluate((on) => window.__chViewer.specialise(on), specialised);
    await page.evaluate(
      ([a, b]) => {
        window.__chViewer.setSettings(0, a);
        window.__chViewer.setSettings(1, b);
      },
      [settings({ colormap: 'viridis' }), settings({ colormap: 'hot' }, { opacity: 0.6, blend })],
    );
    const { got, want } = await gpuVsCpu(page);
    const cmp = comparePixels(got, want, 2);
    assert.ok(cmp.bad <= cmp.pixels * 0.01, `${blend} (specialised ${specialised}): ${cmp.bad} pixels differ (worst ${cmp.worst})`);
  }
  await page.evaluate(() => window.__chViewer.specialise(true));
  // RGB composite of three layers from the panel.
  assert.equal(await loadBytes(page, testImage(), 'third.fits', false), null);
  await page.click('[data-testid="rgb"]');
  const info = await page.evaluate(() => window.__chViewer.info());
  assert.deepEqual(info.layers.map((l) => [l.settings.render.colormap, l.settings.blend]), [
    ['red', 'add'],
    ['green', 'add'],
    ['blue', 'add'],
  ]);
  const { got, want } = await gpuVsCpu(page);
  assert.ok(comparePixels(got, want, 2).bad <= 64 * 48 * 0.01);
  assert.deepEqual(errors, []);
  await page.close();
});

test('a large image shows at once from the levels its view reads, then sharpens to full resolution', async () => {
  const { page, errors } = await openViewer('?tile=256');
  const base64 = Buffer.from(testImage(2048, 2048)).toString('base64');
  // Loads, then reports the state in the same task, before any queued level is written.
  const loadAndReport = (s) =>
    page.evaluate(async (s) => {
      const v = window.__chViewer;
      const err = v.loadBytes(Uint8Array.from(atob(s), (c) => c.charCodeAt(0)), 'big.fits', true);
      const info = v.info();
      return { err, info };
    }, s);
  const first = await loadAndReport(base64);
  assert.equal(first.err, null);
  assert.equal(first.info.tiles, 64);
  assert.ok(first.info.view_level >= 1, `2048² fits the canvas below half size: level ${first.info.view_level}`);
  // The first frame read the level its zoom needs; only finer levels were still queued.
  assert.equal(first.info.resident_level, first.info.view_level);
  await page.waitForFunction(() => window.__chViewer.info().resident_level === 0, null, { timeout: 30_000 });
  const done = await page.evaluate(() => window.__chViewer.info());
  assert.ok(done.timings.full_resolution >= done.timings.total, JSON.stringify(done.timings));
  assert.equal(done.view_level, first.info.view_level);
  // Read back at once after another load: what is still queued is written first, and every
  // full-resolution pixel matches the reference.
  const cmp = await page.evaluate(async (s) => {
    const v = window.__chViewer;
    v.loadBytes(Uint8Array.from(atob(s), (c) => c.charCodeAt(0)), 'again.fits', true);
    const queued = v.info().resident_level;
    const got = (await v.readNative()).data;
    const want = v.cpuReference();
    let bad = 0;
    for (let i = 0; i < want.length; i += 4) {
      for (let c = 0; c < 4; c++) if (Math.abs(got[i + c] - want[i + c]) > 2) { bad++; break; }
    }
    return { queued, bad, pixels: want.length / 4, length: got.length };
  }, base64);
  assert.ok(cmp.queued >= 1, 'levels were queued when the read-back started');
  assert.equal(cmp.length, 2048 * 2048 * 4);
  assert.ok(cmp.bad <= cmp.pixels * 0.01, `${cmp.bad} of ${cmp.pixels} pixels differ`);
  assert.deepEqual(errors, []);
  await page.close();
});

test('corrupt and unsupported files show a message; the page keeps working', async () => {
  const { page, errors } = await openViewer();
  const garbage = new Uint8Array(5000).map((_, i) => (i * 31) % 251);
  const msg = await loadBytes(page, garbage, 'garbage.fits');
  assert.match(msg, /garbage\.fits/);
  await page.waitForSelector('[data-testid="viewer-message"].error');
  const good = testImage();
  const truncated = good.slice(0, 2880 + 100);
  assert.match(await loadBytes(page, truncated, 'truncated.fits'), /truncated\.fits/);
  // A header that lies about its size.
  const liar = fitsImage(4, 4, new Float32Array(16));
  const text = new TextDecoder().decode(liar.slice(0, 2880)).replace('NAXIS1  =                    4', 'NAXIS1  =            999999999');
  const lying = new Uint8Array(liar);
  lying.set(new TextEncoder().encode(text), 0);
  assert.match(await loadBytes(page, lying, 'lying.fits'), /lying\.fits/);
  // The same page then shows a good file.
  assert.equal(await loadBytes(page, good, 'good.fits'), null);
  await page.waitForSelector('[data-testid="viewer-message"]', { state: 'detached' });
  const { got, want } = await gpuVsCpu(page);
  assert.ok(comparePixels(got, want, 2).bad <= 64 * 48 * 0.01);
  assert.deepEqual(errors.filter((e) => !/Failed to load resource/.test(e)), []);
  await page.close();
});

test('sample image: readout, colour bar, colormap, regions, share link', async () => {
  const { page, errors } = await openViewer();
  await page.waitForFunction(() => window.__chViewer.info()?.layers?.length === 1, null, { timeout: 30_000 });
  const info = await page.evaluate(() => window.__chViewer.info());
  assert.equal(info.layers[0].name, '1904-66_AZP.fits');
  assert.match(await page.textContent('[data-testid="colorbar-labels"]'), /JY\/BEAM/);
  // Hover the image centre: pixel, value with unit, RA/Dec in both forms, galactic.
  const box = await page.locator('[data-testid="canvas-wrap"]').boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.waitForSelector('[data-testid="readout-value"]');
  assert.match(await page.textContent('[data-testid="readout-value"]'), /JY\/BEAM|NaN/);
  assert.match(await page.textContent('[data-testid="readout-radec"]'), /\d+:\d+:\d/);
  assert.match(await page.textContent('[data-testid="readout-gal"]'), /l\/b \d/);
  await page.selectOption('[data-testid="colormap"]', 'inferno');
  await page.selectOption('[data-testid="scale"]', 'asinh');
  // With no grid and no regions the overlay canvas is hidden (nothing to composite per frame);
  // the grid shows it.
  const overlayIs = (v) =>
    page.waitForFunction(
      (v) => getComputedStyle(document.querySelector('[data-testid="modeb-overlay"]')).visibility === v,
      v,
      { timeout: 5_000 },
    );
  await overlayIs('hidden');
  await page.click('[data-testid="grid"]');
  await overlayIs('visible');
  // Draw a circle and read its statistics.
  await page.click('[data-testid="tool-circle"]');
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width / 2 + 60, box.y + box.height / 2, { steps: 4 });
  await page.mouse.up();
  await page.waitForSelector('[data-testid="region-report"]');
  const count = Number(await page.textContent('[data-testid="stat-count"]'));
  assert.ok(count > 10, `circle covers pixels: ${count}`);
  assert.match(await page.textContent('[data-testid="stat-flux-density"]'), /^-?[\d.e+-]+ Jy$/);
  await page.waitForFunction(() => /saved/.test(document.querySelector('[data-testid="regions-saved"]').textContent));
  await page.screenshot({ path: `${shots}/viewer.png` });
  // Share link restores colormap, scale and the region in a fresh page.
  const shared = (await page.evaluate(() => window.__chViewer.info())).camera;
  await page.click('[data-testid="share"]');
  const link = await page.inputValue('[data-testid="share-link"]');
  assert.match(link, /#v=/);
  const other = await env.browser.newPage({ viewport: { width: 1400, height: 900 } });
  const otherErrors = watchErrors(other);
  await other.goto(link);
  await other.waitForFunction(() => window.__chViewer?.info()?.layers?.length === 1, null, { timeout: 60_000 });
  const restored = await other.evaluate(() => window.__chViewer.info());
  assert.equal(restored.layers[0].settings.render.colormap, 'inferno');
  assert.equal(restored.layers[0].settings.render.scale, 'asinh');
  assert.ok(Math.abs(restored.camera.zoom - shared.zoom) < 1e-9, `zoom ${shared.zoom} → ${restored.camera.zoom}`);
  assert.ok(Math.hypot(restored.camera.centre[0] - shared.centre[0], restored.camera.centre[1] - shared.centre[1]) < 1e-9);
  // The region was saved on the server for this image and comes back without the link too.
  const saved = await (await env.server.api(`/api/regions?image=${encodeURIComponent('/samples/1904-66_AZP.fits')}`)).json();
  assert.equal(saved.regions.length, 1);
  assert.equal(saved.regions[0].shape, 'circle');
  assert.deepEqual(errors, []);
  assert.deepEqual(otherErrors, []);
  await other.close();
  await page.close();
});
