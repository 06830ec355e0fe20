/**
 * The web console in a real headless Chromium (the binary ships in the @sparticuz/chromium npm
 * package, driven by playwright-core) against `npm start`: an operator signs in, creates an endpoint,
 * sees its secret once, watches a delivery arrive, retries it, rotates the secret; a customer's
 * portal link sees its own fleet only; hostile values render as text. Set HOOKLINE_SCREENSHOTS=1 to
 * refresh the screenshots in docs/.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sparticuz from '@sparticuz/chromium';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../lib/paths';
import { freePort, killGroup, spawnNpmStart, startTestReceiver, waitUntil, type HooklineProcess, type TestReceiver } from './helpers';

const TOKEN = 'hlk_tok_01J0Z8K7Q3N5X2B4C6D8E0F1G2_console-e2e-token-0123456789';
const FLEET_A = 'acme';
const FLEET_B = 'globex';
/** Without these the closed network here makes Chromium retry background fetches forever. */
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const XSS = {
  script: '<script>window.__xss = "script"</script>',
  img: '"><img src=x onerror="window.__xss = \'img\'">',
  rtl: '\u202Etxt.exe',
};
const SCREENSHOTS = process.env.HOOKLINE_SCREENSHOTS === '1' ? join(PROJECT_ROOT, 'docs') : undefined;

let hookline: HooklineProcess | undefined;
let receiver: TestReceiver;
let browser: Browser;
let apiUrl: string;
let dataDir: string;
const pageProblems: string[] = [];
const foreignRequests: string[] = [];

async function apiCall(method: string, path: string, body?: unknown, token = TOKEN): Promise<{ status: number; body: any }> {
  const response = await fetch(`${apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : JSON.parse(text) };
}

/** A fresh context (its own storage) whose page reports script errors, CSP violations, dialogs and off-origin requests. */
async function openPage(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1180, height: 760 } });
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  page.on('pageerror', (error) => pageProblems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy|Refused to/i.test(message.text())) pageProblems.push(`CSP: ${message.text()}`);
  });
  page.on('dialog', (dialog) => {
    if (dialog.type() === 'confirm') {
      void dialog.accept();
      return;
    }
    pageProblems.push(`dialog: ${dialog.message()}`);
    void dialog.dismiss();
  });
  page.on('request', (request) => {
    if (!request.url().startsWith(apiUrl)) foreignRequests.push(request.url());
  });
  return { context, page };
}

async function screenshot(page: Page, name: string): Promise<void> {
  const dir = SCREENSHOTS ?? join(dataDir, 'screenshots');
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `console-${name}.png`), fullPage: false });
}

function nav(page: Page, name: string) {
  return page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name, exact: true });
}

async function text(page: Page, selector: string): Promise<string> {
  return (await page.locator(selector).first().textContent()) ?? '';
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'hookline-console-'));
  receiver = await startTestReceiver();
  const port = await freePort();
  hookline = spawnNpmStart(PROJECT_ROOT, {
    HOOKLINE_PORT: String(port),
    HOOKLINE_TOKEN: TOKEN,
    HOOKLINE_DATA_DIR: join(dataDir, 'data'),
    HOOKLINE_LOG_FORMAT: 'json',
  });
  apiUrl = (await hookline.waitForLine(/Hookline API: (http:\/\/\S+)/, 120_000))[1] as string;
  browser = await chromium.launch({ executablePath: await sparticuz.executablePath(), headless: true, args: CHROMIUM_FLAGS });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await receiver?.close();
  if (hookline !== undefined) {
    hookline.child.kill('SIGTERM');
    await Promise.race([hookline.exited, new Promise((resolve) => setTimeout(resolve, 15_000))]);
    killGroup(hookline.pgid);
  }
  rmSync(dataDir, { recursive: true, force: true });
}, 60_000);

describe('web console in headless Chromium', () => {
  it('runs the operator flow, a fleet-scoped portal link, and renders hostile values as text', async () => {
    const { page } = await openPage();

    // Sign in with the development token.
    const served = await page.goto(`${apiUrl}/console`);
    expect(served?.headers()['content-security-policy']).toContain("default-src 'self'");
    await page.getByLabel('API token').fill(TOKEN);
    await page.getByLabel('Fleet id').fill(FLEET_A);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Endpoints' }).waitFor();
    await page.getByText('No endpoints yet').waitFor();
    expect(page.url()).not.toContain(TOKEN);

    // Create an endpoint through the form: the secret is shown once.
    await page.getByRole('link', { name: 'Add endpoint' }).click();
    await page.getByLabel('Endpoint URL').fill(receiver.url);
    await page.getByLabel('Name', { exact: true }).fill('alpha-endpoint');
    await page.getByLabel('Description').fill(XSS.img);
    await page.getByRole('checkbox', { name: 'thread.completed' }).check();
    await page.getByRole('button', { name: 'Create endpoint' }).click();
    const secret = (await text(page, '.secret-value')).trim();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    await page.getByRole('button', { name: 'I have stored it' }).click();
    await page.getByRole('heading', { name: 'alpha-endpoint' }).waitFor();
    expect(await page.content()).not.toContain(secret);
    const webhookId = decodeURIComponent(page.url().split('#/endpoints/')[1] as string);
    expect(webhookId).toMatch(/^wh_/);
    // The description is shown as the characters typed.
    await page.getByText(XSS.img, { exact: true }).waitFor();

    // Publish through the API; the delivery appears in the (live) fleet-wide list.
    const published = await apiCall('POST', `/fleets/${FLEET_A}/events`, { type: 'thread.completed', data: { ...XSS, orderId: 42 } });
    expect(published.status).toBe(202);
    await nav(page, 'Deliveries').click();
    const row = page.locator('table a[href^="#/deliveries/dlv_"]').first();
    await row.waitFor({ timeout: 60_000 });
    await waitUntil('the delivery to succeed', async () => ((await page.locator('.badge-succeeded').count()) > 0 ? true : undefined), 60_000, 250);
    await screenshot(page, 'deliveries');
    await row.click();

    // Its attempt and the payload that was sent.
    await page.getByRole('heading', { name: /Attempt 1: HTTP 204/ }).waitFor();
    const payload = await text(page, 'pre.payload');
    expect(payload).toContain(XSS.script.replace(/"/g, '\\"'));
    // A right-to-left override is shown as its escape, so it cannot reverse the rest of the line.
    expect(payload).toContain('"rtl": "\\u202etxt.exe"');
    expect(payload).not.toContain('\u202E');
    expect(await page.locator('pre.payload img, pre.payload script').count()).toBe(0);
    expect(await page.getByRole('row', { name: /^webhook-signature/ }).textContent()).toContain('v1,');
    expect(await page.evaluate(() => (globalThis as unknown as { __xss?: string }).__xss)).toBeUndefined();
    expect(receiver.received).toHaveLength(1);
    // The envelope shown is the one the receiver got (the same JSON once parsed).
    expect(JSON.parse(payload)).toEqual(JSON.parse(receiver.received[0]?.body as string));
    await screenshot(page, 'delivery');

    // The receiver fails; a retry from the UI makes a second attempt.
    receiver.respond = () => 500;
    await page.getByRole('button', { name: 'Retry now' }).click();
    await page.getByRole('heading', { name: /Attempt 2: HTTP 500/ }).waitFor({ timeout: 60_000 });
    receiver.respond = () => 204;

    // Rotate: a new secret, shown once.
    await page.locator('dd a[href^="#/endpoints/"]').click();
    await page.getByRole('heading', { name: 'alpha-endpoint' }).waitFor();
    await page.getByRole('button', { name: 'Rotate secret' }).click();
    const rotated = (await text(page, '.secret-value')).trim();
    expect(rotated).toMatch(/^whsec_/);
    expect(rotated).not.toBe(secret);
    await page.getByRole('button', { name: 'I have stored it' }).click();
    expect(await page.locator('.secret-value').count()).toBe(0);

    await nav(page, 'Endpoints').click();
    await page.getByRole('link', { name: 'alpha-endpoint' }).waitFor();
    await page.locator('td .badge').last().waitFor();
    await screenshot(page, 'endpoints');
    await nav(page, 'Events').click();
    await page.locator('a[href^="#/events/evt_"]').first().click();
    await page.getByRole('heading', { name: 'Deliveries' }).waitFor();
    await page.locator('table a[href^="#/deliveries/dlv_"]').first().waitFor();
    await screenshot(page, 'event');

    // A portal link for fleet A shows A's endpoints and cannot open fleet B's.
    const other = await apiCall('POST', `/fleets/${FLEET_B}/webhooks`, { url: receiver.url, name: 'bravo-endpoint' });
    expect(other.status).toBe(201);
    const session = await apiCall('POST', `/fleets/${FLEET_A}/portal-sessions`, { ttlSeconds: 600 });
    expect(session.status).toBe(201);
    expect(session.body.url).toMatch(new RegExp(`^${apiUrl}/console#portal=hlk_`));
    const customer = await openPage();
    await customer.page.goto(session.body.url as string);
    await customer.page.getByRole('link', { name: 'alpha-endpoint' }).waitFor();
    expect(customer.page.url()).not.toContain('portal=');
    expect(await customer.page.getByText('bravo-endpoint').count()).toBe(0);
    expect(await nav(customer.page, 'Portal link').count()).toBe(0);
    await screenshot(customer.page, 'portal');
    await customer.page.goto(`${apiUrl}/console#/endpoints/${encodeURIComponent(other.body.id as string)}`);
    await customer.page.getByRole('alert').getByText('Webhook not found.').waitFor();
    const portalToken = new URLSearchParams((session.body.url as string).split('#')[1]).get('portal') as string;
    expect((await apiCall('GET', `/fleets/${FLEET_B}/webhooks`, undefined, portalToken)).status).toBe(404);
    expect((await apiCall('GET', `/fleets/${FLEET_A}/webhooks`, undefined, portalToken)).status).toBe(200);
    await customer.context.close();

    expect(await page.evaluate(() => (globalThis as unknown as { __xss?: string }).__xss)).toBeUndefined();
    expect(pageProblems).toEqual([]);
    expect(foreignRequests).toEqual([]);
  }, 240_000);
});
