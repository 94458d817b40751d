// Mode B interaction in Chromium: cubes, reprojected layers, pan/zoom and shortcuts, line
// profiles, moving regions, DS9 import/export.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { comparePixels, fitsExtension, fitsImage, serverAndBrowser, testImage, watchErrors } from './support.mjs';

const env = serverAndBrowser();
const shots = process.env.CH_SCREENSHOTS ?? 'target/screenshots';


async function viewerWith(bytes, name) {
  const page = await env.browser.newPage({ viewport: { width: 1200, height: 800 } });
  const errors = watchErrors(page);
  await page.route((url) => url.pathname === `/test-data/${name}`, (route) =>
    route.fulfill({ status: 200, contentType: 'application/fits', body: Buffer.from(bytes) }),
  );
  await page.goto(`${env.server.url}/viewer?src=/test-data/${name}`);
  await page.waitForFunction((n) => window.__chViewer?.info()?.layers?.[0]?.name === n, name, { timeout: 60_000 });
  return { page, errors };
}

const info = (page) => page.evaluate(() => window.__chViewer.info());

/// The regions saved for an image, once `pred` holds for them (saves are asynchronous).
async function savedRegions(key, pred) {
  for (let i = 0; i < 100; i++) {
    const doc = await (await env.server.api(`/api/regions?image=${encodeURIComponent(key)}`)).json();
    if (pred(doc)) return doc;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`regions of ${key} never matched`);
}

test('cube: plane slider, animator and per-cube limits', async () => {
  const planes = 3;
  const values = new Float32Array(32 * 32 * planes).map((_, i) => Math.floor(i / 1024) * 10 + (i % 32) / 32);
  const wcs = {
    CTYPE1: 'RA---SIN', CTYPE2: 'DEC--SIN', CTYPE3: 'FREQ', CRPIX1: 16, CRPIX2: 16, CRPIX3: 1,
    CRVAL1: 200.0, CRVAL2: -45.0, CRVAL3: 1.4e9, CDELT1: -0.01, CDELT2: 0.01, CDELT3: 1.0e6, CUNIT3: 'Hz',
  };
  const { page, errors } = await viewerWith(fitsImage(32, 32, values, wcs, planes), 'cube.fits');
  assert.equal(await page.textContent('[data-testid="plane-world"]'), '1.400000 GHz');
  assert.equal((await info(page)).layers[0].planes, 3);
  assert.deepEqual((await info(page)).layers[0].limits, [0, 31 / 32]);
  await page.$eval('[data-testid="plane"]', (el) => {
    el.value = '2';
    el.dispatchEvent(new Event('input', { bubbles: true }));
  });
  await page.waitForFunction(() => window.__chViewer.info().layers[0].plane === 2);
  assert.deepEqual((await info(page)).layers[0].limits, [20, 20 + 31 / 32]);
  assert.equal(await page.textContent('[data-testid="plane-label"]'), '3/3');
  assert.equal(await page.textContent('[data-testid="plane-world"]'), '1.402000 GHz');
  // The new plane is what the GPU draws (only that layer's textures were replaced).
  const shown = await page.evaluate(async () => ({
    got: Array.from((await window.__chViewer.readNative()).data),
    want: Array.from(window.__chViewer.cpuReference()),
  }));
  assert.ok(comparePixels(shown.got, shown.want, 2).bad <= 32 * 32 * 0.01);
  await page.getByText('limits over the whole cube').click();
  await page.waitForFunction(() => window.__chViewer.info().layers[0].settings.cube_limits === true);
  assert.deepEqual((await info(page)).layers[0].limits, [0, 20 + 31 / 32]);
  // Another mode over the whole cube (0–100 % percentiles: the same ends), then min/max again.
  const withLimits = (limits) =>
    page.evaluate((limits) => {
      const s = window.__chViewer.info().layers[0].settings;
      window.__chViewer.setSettings(0, JSON.stringify({ ...s, render: { ...s.render, limits } }));
      return window.__chViewer.info().layers[0].limits;
    }, limits);
  assert.deepEqual(await withLimits({ kind: 'percentile', low: 0, high: 100 }), [0, 20 + 31 / 32]);
  // numpy's median of 3 × 1024 values: halfway between the 1536th and 1537th (plane 1, 15/32 and 16/32).
  assert.deepEqual(await withLimits({ kind: 'percentile', low: 50, high: 100 }), [10 + 15.5 / 32, 20 + 31 / 32]);
  assert.deepEqual(await withLimits({ kind: 'minmax' }), [0, 20 + 31 / 32]);
  await page.click('[data-testid="play"]');
  await page.waitForFunction(() => window.__chViewer.info().layers[0].plane === 0, null, { timeout: 5000 });
  await page.click('[data-testid="play"]');
  assert.deepEqual(errors, []);
  await page.close();
});

test('a layer with another WCS is reprojected; one without WCS and another size is refused', async () => {
  const { page, errors } = await viewerWith(testImage(), 'base.fits');
  const shifted = testImage(64, 48, { CRPIX1: 37, CRPIX2: 27 });
  await page.route((u) => u.pathname === '/test-data/shifted.fits', (r) => r.fulfill({ status: 200, body: Buffer.from(shifted) }));
  await page.fill('[data-testid="src-input"]', '/test-data/shifted.fits');
  await page.click('[data-testid="add-layer"]');
  await page.waitForFunction(() => window.__chViewer.info().layers.length === 2);
  const layers = (await info(page)).layers;
  assert.equal(layers[1].reprojected, true);
  await page.waitForSelector('.layers .tag');
  const { got, want } = await page.evaluate(async () => ({
    got: Array.from((await window.__chViewer.readNative()).data),
    want: Array.from(window.__chViewer.cpuReference()),
  }));
  assert.ok(comparePixels(got, want, 2).bad <= 64 * 48 * 0.01);
  const bare = fitsImage(10, 10, new Float32Array(100));
  await page.route((u) => u.pathname === '/test-data/bare.fits', (r) => r.fulfill({ status: 200, body: Buffer.from(bare) }));
  await page.fill('[data-testid="src-input"]', '/test-data/bare.fits');
  await page.click('[data-testid="add-layer"]');
  await page.waitForSelector('[data-testid="viewer-message"].error');
  assert.match(await page.textContent('[data-testid="viewer-message"]'), /cannot be aligned/);
  assert.equal((await info(page)).layers.length, 2);
  // A missing file names the HTTP status.
  await page.fill('[data-testid="src-input"]', '/api/fits/nowhere/x.fits');
  await page.click('[data-testid="open-url"]');
  await page.waitForFunction(() => /HTTP 4\d\d/.test(document.querySelector('[data-testid="viewer-message"]')?.textContent ?? ''));
  assert.equal((await info(page)).layers.length, 2);
  assert.deepEqual(errors.filter((e) => !/Failed to load resource/.test(e)), []);
  await page.close();
});

test('pan, zoom, keyboard shortcuts, line profile, moving a region, DS9 round trip', async () => {
  const { page, errors } = await viewerWith(testImage(), 'tools.fits');
  const wrap = page.locator('[data-testid="canvas-wrap"]');
  const box = await wrap.boundingBox();
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  const fitted = (await info(page)).camera;
  await page.mouse.move(cx, cy);
  await page.mouse.wheel(0, -400);
  await page.waitForFunction((z) => window.__chViewer.info().camera.zoom > z * 1.2, fitted.zoom);
  await wrap.focus();
  await page.keyboard.press('f');
  await page.waitForFunction((z) => Math.abs(window.__chViewer.info().camera.zoom - z) < 1e-9, fitted.zoom);
  // Drag pans.
  await page.mouse.move(cx, cy);
  await page.mouse.down();
  await page.mouse.move(cx + 100, cy, { steps: 5 });
  await page.mouse.up();
  const panned = (await info(page)).camera;
  assert.ok(panned.centre[0] < fitted.centre[0] - 1, 'dragging right moves the view left');
  await page.keyboard.press('f');
  // Line tool draws a line and plots its profile.
  await page.keyboard.press('l');
  await page.mouse.move(cx - 150, cy);
  await page.mouse.down();
  await page.mouse.move(cx + 150, cy, { steps: 6 });
  await page.mouse.up();
  await page.waitForSelector('[data-testid="profile"] svg');
  assert.match(await page.textContent('[data-testid="region-report"]'), /line/);
  // Box, then move it with the pan tool.
  await page.keyboard.press('b');
  await page.mouse.move(cx + 40, cy + 40);
  await page.mouse.down();
  await page.mouse.move(cx + 120, cy + 100, { steps: 4 });
  await page.mouse.up();
  await page.waitForSelector('[data-testid="stat-count"]');
  const before = Number(await page.textContent('[data-testid="stat-count"]'));
  assert.ok(before > 0);
  await page.keyboard.press('v');
  const regionsBefore = await savedRegions('/test-data/tools.fits', (d) => d.regions.length === 2);
  await page.mouse.move(cx + 80, cy + 70);
  await page.mouse.down();
  await page.mouse.move(cx + 20, cy + 30, { steps: 4 });
  await page.mouse.up();
  const moved = await savedRegions('/test-data/tools.fits', (d) => d.version > regionsBefore.version);
  assert.equal(moved.regions.length, 2);
  assert.ok(moved.version > regionsBefore.version);
  const boxBefore = regionsBefore.regions.find((r) => r.shape === 'box');
  const boxAfter = moved.regions.find((r) => r.shape === 'box');
  assert.ok(boxAfter.x < boxBefore.x - 1, `the box moved left: ${boxBefore.x} → ${boxAfter.x}`);
  // DS9 export then import (sky coordinates through the WCS).
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid="ds9-export"]')]);
  const text = readFileSync(await download.path(), 'utf8');
  assert.match(text, /# Region file format: DS9/);
  assert.match(text, /\nicrs\n/, 'written in the image\'s own frame (ICRS: no RADESYS/EQUINOX)');
  assert.match(text, /box\(/);
  await wrap.focus();
  await page.keyboard.press('Delete');
  await savedRegions('/test-data/tools.fits', (d) => d.regions.length === 1);
  await page.setInputFiles('[data-testid="ds9-import"]', {
    name: 'regions.reg',
    mimeType: 'text/plain',
    buffer: Buffer.from(text),
  });
  const imported = await savedRegions(
    '/test-data/tools.fits',
    (d) => d.regions.length === 2 && d.regions.every((r) => /^r\d+$/.test(r.id)) && d.version > moved.version + 1,
  );
  assert.deepEqual(imported.regions.map((r) => r.shape).sort(), ['box', 'line']);
  const b2 = imported.regions.find((r) => r.shape === 'box');
  assert.ok(Math.abs(b2.x - boxAfter.x) < 1e-3 && Math.abs(b2.width - boxAfter.width) < 1e-3);
  // A malformed DS9 file names the line.
  await page.setInputFiles('[data-testid="ds9-import"]', {
    name: 'bad.reg',
    mimeType: 'text/plain',
    buffer: Buffer.from('image\ncircle(10,10,-3)\n'),
  });
  await page.waitForFunction(() => /bad\.reg: line 2/.test(document.querySelector('[data-testid="regions-saved"]').textContent));
  assert.deepEqual(errors, []);
  await page.close();
});

test('pinch with two touch points zooms about their midpoint', async () => {
  const context = await env.browser.newContext({ viewport: { width: 1000, height: 700 }, hasTouch: true });
  const page = await context.newPage();
  const errors = watchErrors(page);
  await page.route((u) => u.pathname === '/test-data/pinch.fits', (r) => r.fulfill({ status: 200, body: Buffer.from(testImage()) }));
  await page.goto(`${env.server.url}/viewer?src=/test-data/pinch.fits`);
  await page.waitForFunction(() => window.__chViewer?.info()?.layers?.[0]?.name === 'pinch.fits', null, { timeout: 60_000 });
  const before = (await info(page)).camera.zoom;
  const box = await page.locator('[data-testid="canvas-wrap"]').boundingBox();
  const [cx, cy] = [box.x + box.width / 2, box.y + box.height / 2];
  const cdp = await context.newCDPSession(page);
  const touch = (type, d) =>
    cdp.send('Input.dispatchTouchEvent', {
      type,
      touchPoints: type === 'touchEnd' ? [] : [
        { x: cx - d, y: cy, id: 1 },
        { x: cx + d, y: cy, id: 2 },
      ],
    });
  await touch('touchStart', 40);
  for (const d of [60, 80, 100, 120]) await touch('touchMove', d);
  await touch('touchEnd', 0);
  const after = (await info(page)).camera.zoom;
  assert.ok(after > before * 2.5, `spreading two fingers 3× apart zooms in: ${before} → ${after}`);
  assert.deepEqual(errors, []);
  await context.close();
});

test('a file with several image HDUs: choose the HDU', async () => {
  const primary = fitsImage(4, 4, new Float32Array(16).fill(1));
  const ext = fitsExtension(8, 6, new Float32Array(48).map((_, i) => i), { EXTNAME: 'SCI' });
  const bytes = new Uint8Array(primary.length + ext.length);
  bytes.set(primary, 0);
  bytes.set(ext, primary.length);
  const { page, errors } = await viewerWith(bytes, 'multi.fits');
  assert.equal((await info(page)).layers[0].width, 4);
  await page.selectOption('[data-testid="hdu"]', '1');
  await page.waitForFunction(() => window.__chViewer.info().layers[0].width === 8);
  assert.deepEqual((await info(page)).layers[0].limits, [0, 47]);
  assert.match(await page.textContent('[data-testid="hdu"]'), /1 SCI 8×6/);
  assert.deepEqual(errors, []);
  await page.close();
});

const realWorld = (name) => readFileSync(new URL(`../../crates/ch-fits/tests/data/real-world/${name}`, import.meta.url));

test('real-world headers: warnings in the panel, DS9 regions in five frames on an FK4 image', async () => {
  // CUNIT = 'Degrees': coordinates work, and the panel says what was translated.
  const { page, errors } = await viewerWith(realWorld('cunit_degrees.fits'), 'cunit_degrees.fits');
  await page.waitForSelector('[data-testid="header-warnings"]');
  await page.click('[data-testid="header-warnings"] summary');
  const warnings = await page.textContent('[data-testid="header-warnings"]');
  assert.match(warnings, /CUNIT1 = 'Degrees' read as 'deg'/);
  await page.screenshot({ path: `${shots}/header-warnings.png` });
  await page.close();

  // An FK4 B1950 image and a DS9 file in galactic, fk5, icrs and fk4: each region lands where
  // astropy puts it; the galactic point 90° away is reported, not placed.
  const fk4 = await viewerWith(realWorld('ds9_fk4_image.fits'), 'ds9_fk4_image.fits');
  await fk4.page.setInputFiles('[data-testid="ds9-import"]', {
    name: 'ds9_frames.reg',
    mimeType: 'text/plain',
    buffer: realWorld('ds9_frames.reg'),
  });
  const doc = await savedRegions('/test-data/ds9_fk4_image.fits', (d) => d.regions.length === 4);
  const expected = JSON.parse(realWorld('expected.json'))['ds9_frames.reg'].checks;
  for (const r of doc.regions) {
    const [x, y] = expected[r.label].pixel;
    assert.ok(Math.abs(r.x - x) < 1e-4 && Math.abs(r.y - y) < 1e-4, `${r.label}: (${r.x}, ${r.y}) vs astropy (${x}, ${y})`);
  }
  await fk4.page.waitForFunction(() =>
    /1 region\(s\) not placed.*line 3/.test(document.querySelector('[data-testid="regions-import"]').textContent),
  );
  await fk4.page.screenshot({ path: `${shots}/ds9-fk4-import.png` });
  assert.deepEqual([...errors, ...fk4.errors], []);
  await fk4.page.close();
});
