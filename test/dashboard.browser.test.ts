import './helpers/guard.js';
import assert from 'node:assert/strict';
import { mkdirSync, statSync } from 'node:fs';
import { after, before, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { TokenService } from '../src/auth/tokens.js';
import { CHROMIUM, describeWithBinary } from './helpers/external.js';
import { TestClient } from './helpers/gateway.js';
import { startRuntime, TEST_SECRET, type TestRuntime } from './helpers/runtime.js';

// Debian's chromium, never a downloaded browser; flags keep it quiet and offline in CI containers.
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
/** The page polls once a second; allow several polls plus a slow CI machine. */
const UI_WAIT_MS = 10_000;

const tokens = new TokenService(TEST_SECRET);

async function cardValue(page: Page, stat: string): Promise<string> {
  return (await page.locator(`[data-stat="${stat}"] .value`).textContent({ timeout: UI_WAIT_MS })) ?? '';
}

async function waitForCard(page: Page, stat: string, value: string): Promise<void> {
  // A string expression: this file is compiled without the DOM lib.
  const expr = `document.querySelector(${JSON.stringify(`[data-stat="${stat}"] .value`)})?.textContent === ${JSON.stringify(value)}`;
  await page.waitForFunction(expr, undefined, { timeout: UI_WAIT_MS });
}

async function signIn(page: Page, base: string, token: string): Promise<void> {
  await page.goto(`${base}/`, { timeout: UI_WAIT_MS });
  await page.fill('#token', token);
  await page.click('#connect');
}

// Without chromium the suite skips with one !!! line; .ci/run sets SWITCHYARD_REQUIRE_BROWSER=1 so CI fails instead.
describeWithBinary('dashboard in a real browser', CHROMIUM, (chromiumPath) => {
  let t: TestRuntime;
  let browser: Browser;
  let base: string;
  const clients: TestClient[] = [];

  before(async () => {
    t = await startRuntime();
    base = `http://127.0.0.1:${t.runtime.port}`;
    browser = await chromium.launch({ executablePath: chromiumPath, args: FLAGS, timeout: 30_000 });
  });
  after(async () => {
    for (const c of clients) c.terminate();
    await browser?.close();
    await t?.runtime.stop();
  });

  it('shows the connection count rising when a client connects and falling when it leaves; saves a screenshot', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    await signIn(page, base, await tokens.sign({ sub: 'ops', role: 'admin' }));
    await page.waitForSelector('#status.live', { timeout: UI_WAIT_MS });
    await waitForCard(page, 'connections', '0');
    assert.equal(await cardValue(page, 'instances'), '1');

    const client = await TestClient.open(`ws://127.0.0.1:${t.runtime.port}/ws?token=${await tokens.sign({ sub: 'alice' })}`);
    clients.push(client);
    await waitForCard(page, 'connections', '1');
    // The instance row shows the same figure for this instance.
    const row = page.locator(`#instances tr[data-instance="${t.runtime.instanceId}"]`);
    assert.match((await row.textContent({ timeout: UI_WAIT_MS })) ?? '', /\(this\)/);

    // Charts exist for the core figures and have drawn a canvas each.
    for (const group of ['instances', 'connections', 'eventLoop', 'actors']) {
      await page.waitForSelector(`.chart[data-chart="${group}"] canvas`, { timeout: UI_WAIT_MS });
    }
    // The lease line names the holder: the only instance.
    assert.match((await page.locator('#lease').textContent()) ?? '', new RegExp(`held by ${t.runtime.instanceId}`));

    mkdirSync(ARTIFACTS, { recursive: true });
    const shot = `${ARTIFACTS}dashboard.png`;
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(statSync(shot).size > 10_000, 'screenshot written');

    client.terminate();
    await waitForCard(page, 'connections', '0');
    await page.close();
  });

  it('keeps the token in sessionStorage across a reload (and not in localStorage)', async () => {
    const page = await browser.newPage();
    const token = await tokens.sign({ sub: 'ops', role: 'admin' });
    await signIn(page, base, token);
    await page.waitForSelector('#status.live', { timeout: UI_WAIT_MS });
    await page.reload();
    await page.waitForSelector('#status.live', { timeout: UI_WAIT_MS });
    assert.equal(await page.inputValue('#token'), token);
    assert.equal(await page.evaluate('localStorage.length'), 0);
    await page.click('#forget');
    assert.equal(await page.evaluate('sessionStorage.length'), 0);
    await page.close();
  });

  it('refuses a non-admin token and shows why', async () => {
    const page = await browser.newPage();
    await signIn(page, base, await tokens.sign({ sub: 'mallory', role: 'user' }));
    await page.waitForSelector('#status.error', { timeout: UI_WAIT_MS });
    const text = (await page.textContent('#status')) ?? '';
    assert.match(text, /Refused/);
    assert.match(text, /SWY_FORBIDDEN/);
    assert.equal(await page.isHidden('#main'), true, 'no figures shown');
    assert.equal(await page.locator('[data-stat]').count(), 0);
    await page.close();
  });

  it('/api/stats answers 401 without a token, 403 to a user, 200 to an admin', async () => {
    const url = `${base}/api/stats`;
    const none = await fetch(url);
    assert.equal(none.status, 401);
    const user = await fetch(url, { headers: { authorization: `Bearer ${await tokens.sign({ sub: 'u', role: 'user' })}` } });
    assert.equal(user.status, 403);
    assert.equal(((await user.json()) as { error: { code: string } }).error.code, 'SWY_FORBIDDEN');
    const admin = await fetch(`${url}?history=1`, { headers: { authorization: `Bearer ${await tokens.sign({ sub: 'a', role: 'admin' })}` } });
    assert.equal(admin.status, 200);
    const view = (await admin.json()) as { history: { t: number[]; series: Record<string, unknown[]> } };
    assert.ok(view.history.t.length >= 1, 'history has samples');
    assert.equal(view.history.series.connections?.length, view.history.t.length);
  });
});
