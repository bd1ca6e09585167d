// Browser tests: Debian's Chromium, headless, driven by playwright-core,
// against a real gateway, worker and redis-server started here.
// Usage: node --test demo.test.mjs  (BIN_DIR = folder of the ssebridge binaries,
// ARTIFACTS = folder for screenshots)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { binDir, launchChromium, startGateway, startProxy, startRedis, startWorker, tearDown } from '../support/harness.mjs';

const artifacts = process.env.ARTIFACTS || tmpdir();
let browser, baseUrl, lonelyUrl, slowUrl, proxy, workDir;

before(async () => {
  assert.ok(binDir, 'BIN_DIR must name the folder of the ssebridge binaries');
  workDir = mkdtempSync(join(tmpdir(), 'ssebridge-browser-'));
  const redisUrl = await startRedis(workDir);
  let bootstrap;
  ({ bootstrap, url: baseUrl } = await startGateway(['--redis', redisUrl, '--ack-timeout', '30']));
  // A second gateway that no worker serves: its sessions time out.
  ({ url: lonelyUrl } = await startGateway(['--redis', redisUrl, '--ack-timeout', '0.5']));
  await startWorker(redisUrl, bootstrap, ['--delay', '0.005', '--tool', 'web_search',
    '--answer', 'You asked: {query}']);
  // A slow worker behind its own gateway, reached through a proxy that cuts connections.
  let slowBootstrap;
  ({ bootstrap: slowBootstrap, url: slowUrl } = await startGateway(['--redis', redisUrl,
    '--ack-timeout', '30']));
  await startWorker(redisUrl, slowBootstrap, ['--delay', '0.03', '--answer', 'You asked: {query}']);
  const slow = new URL(slowUrl);
  proxy = await startProxy({ host: slow.hostname, port: Number(slow.port) });
  browser = await launchChromium();
});

after(() => tearDown({ browser, proxy, workDir }));

test('a person asks on the demo page and watches the answer stream in', async () => {
  const page = await browser.newPage();
  await page.goto(baseUrl + '/');
  await page.fill('#question', 'Where is Paris?');
  await page.click('#send');
  await page.waitForSelector('#state[data-state="done"]', { timeout: 60000 });
  assert.equal(await page.textContent('#answer-display'), 'You asked: Where is Paris?');
  assert.equal(await page.textContent('#thought-display'), 'Let me look that up.');
  assert.equal(await page.textContent('#tool'), 'web_search');
  assert.match(await page.textContent('#session'), /^[0-9a-f]{32}$/);
  assert.equal(await page.isHidden('#error'), true);
  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, 'demo-page.png'), fullPage: true });
  await page.close();
});

test('errors are shown to the person, not only in the console', async () => {
  const page = await browser.newPage();
  await page.goto(baseUrl + '/');
  await page.fill('#question', ' ');
  await page.evaluate(() => { document.getElementById('question').value = ''; document.getElementById('question').required = false; });
  await page.click('#send');
  await page.waitForSelector('#error:not([hidden])', { timeout: 10000 });
  const text = await page.textContent('#error');
  assert.match(text, /422/);
  assert.match(text, /user_query must not be empty/);
  assert.equal(await page.getAttribute('#state', 'data-state'), 'error');
  await page.close();
});

test('an ack timeout reaches the person as a visible error', async () => {
  const page = await browser.newPage();
  await page.goto(lonelyUrl + '/');
  await page.click('#send');
  await page.waitForSelector('#error:not([hidden])', { timeout: 20000 });
  assert.match(await page.textContent('#error'), /worker did not acknowledge within 0.5 s/);
  assert.match(await page.textContent('#session'), /^[0-9a-f]{32}$/);
  await page.close();
});

test('the page survives connection drops mid-answer: the answer is complete, once', async () => {
  const page = await browser.newPage();
  await page.goto(proxy.url + '/');
  const question = 'How does a session outlive its connection?';
  await page.fill('#question', question);
  await page.click('#send');
  await page.waitForFunction(() => document.getElementById('answer-display').textContent.length > 3,
    null, { timeout: 30000 });
  // Three drops while the answer streams: the POST's, then the EventSource's.
  for (let i = 0; i < 3; i++) {
    const before = (await page.textContent('#answer-display')).length;
    assert.ok(proxy.cutAll() > 0, 'nothing to cut');
    await page.waitForFunction((n) => document.getElementById('answer-display').textContent.length > n + 2,
      before, { timeout: 20000 });
  }
  await page.waitForSelector('#state[data-state="done"]', { timeout: 60000 });
  assert.equal(await page.textContent('#answer-display'), 'You asked: ' + question);
  assert.equal(await page.textContent('#thought-display'), 'Let me look that up.');
  assert.ok(Number(await page.textContent('#resumes')) >= 3);
  assert.equal(await page.isHidden('#error'), true);
  await page.close();
});

test("the Stop button stops the worker, and the page says it confirmed", async () => {
  const page = await browser.newPage();
  await page.goto(slowUrl + '/');
  await page.fill('#question', 'Tell me a very long story that I will not read to the end, please.');
  await page.click('#send');
  await page.waitForFunction(() => document.getElementById('answer-display').textContent.length > 3,
    null, { timeout: 30000 });
  await page.click('#stop');
  await page.waitForSelector('#state[data-state="cancelled"]', { timeout: 15000 });
  await page.waitForFunction(() => document.getElementById('stop-result').textContent.startsWith('stopped'),
    null, { timeout: 15000 });
  assert.equal(await page.textContent('#stop-result'), 'stopped: the worker confirmed');
  const shown = await page.textContent('#answer-display');
  await page.waitForTimeout(300);
  assert.equal(await page.textContent('#answer-display'), shown); // nothing after the stop
  assert.ok(shown.length < 'You asked: Tell me a very long story that I will not read to the end, please.'.length);
  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, 'demo-page-stopped.png'), fullPage: true });
  await page.close();
});
