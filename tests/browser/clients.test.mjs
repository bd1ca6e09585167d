// The SSE client libraries people use, unchanged, in Debian's Chromium,
// against a real gateway, worker and redis-server, through a TCP proxy that
// cuts connections mid-answer. Each: the events shown are the session's log,
// once; one Kafka record per question; the call ends; nothing polls after.
// Usage: node --test clients.test.mjs  (BIN_DIR = folder of the ssebridge binaries)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { binDir, launchChromium, startGateway, startProxy, startRedis, startWorker, tearDown } from './harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
let browser, gatewayUrl, proxy, workDir, fetchEventSourceBundle;

before(async () => {
  assert.ok(binDir, 'BIN_DIR must name the folder of the ssebridge binaries');
  workDir = mkdtempSync(join(tmpdir(), 'ssebridge-clients-'));
  const redisUrl = await startRedis(workDir);
  let bootstrap;
  ({ bootstrap, url: gatewayUrl } = await startGateway(['--redis', redisUrl, '--ack-timeout', '30']));
  await startWorker(redisUrl, bootstrap, ['--delay', '0.03', '--tool', 'web_search',
    '--answer', 'You asked: {query}']);
  const at = new URL(gatewayUrl);
  proxy = await startProxy({ host: at.hostname, port: Number(at.port) });
  // The library as npm ships it, bundled for a page by esbuild.
  const bundled = await build({
    stdin: { contents: "export { fetchEventSource } from '@microsoft/fetch-event-source';", resolveDir: here },
    bundle: true, format: 'iife', globalName: 'FetchEventSource', write: false, logLevel: 'silent',
  });
  fetchEventSourceBundle = bundled.outputFiles[0].text;
  browser = await launchChromium();
});

after(() => tearDown({ browser, proxy, workDir }));

// The gateway's counters, from /metrics.
async function counters() {
  const text = await (await fetch(gatewayUrl + '/metrics')).text();
  const value = (name) => Number(text.match(new RegExp(`^${name} (\\S+)$`, 'm'))?.[1] ?? NaN);
  return {
    sessions: value('ssebridge_sessions_started_total'),
    eventStreams: value('ssebridge_event_streams_started_total'),
    resumes: value('ssebridge_post_resumes_total'),
    ended: value('ssebridge_ended_cursors_total'),
  };
}

// Starts fetchEventSource in the page as its README shows (plus an onopen
// that ends on 204: the answer is complete), recording what it shows.
async function startAsking(page, { question, key }) {
  await page.goto(proxy.url + '/');
  await page.addScriptTag({ content: fetchEventSourceBundle });
  await page.evaluate(({ question, key }) => {
    const { fetchEventSource } = window.FetchEventSource;
    class Finished extends Error {}
    const run = { events: [], opens: 0, statuses: [], session: null, token: null, done: false, error: null };
    window.run = run;
    const headers = { 'Content-Type': 'application/json' };
    if (key) headers['Idempotency-Key'] = key;
    run.promise = fetchEventSource('/v1/react/sessions', {
      method: 'POST',
      headers,
      body: JSON.stringify({ user_query: question, model_alias: 'smart_agent' }),
      async onopen(response) {
        run.opens += 1;
        run.statuses.push(response.status);
        if (response.status === 204) throw new Finished(); // nothing is left to show
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        run.session = response.headers.get('X-Session-Id');
        run.token = response.headers.get('X-Session-Token');
      },
      onmessage(message) {
        run.events.push(JSON.parse(message.data));
      },
      onerror(err) {
        if (err instanceof Finished) throw err; // stop retrying
        return 250; // retry soon (with Last-Event-ID)
      },
    }).then(() => { run.done = true; }, (err) => {
      if (err instanceof Finished) run.done = true;
      else run.error = String(err);
    });
  }, { question, key });
}

// Waits until the page has shown more than `n` events.
function shownMoreThan(page, n) {
  return page.waitForFunction((k) => window.run.events.length > k, n, { timeout: 30000 });
}

// The session's log, as a fresh GET …/events from its start reads it.
async function logOf(page) {
  return page.evaluate(async () => {
    const r = await fetch(`/v1/react/sessions/${window.run.session}/events?token=${window.run.token}`);
    const text = await r.text();
    return text.split('\n\n').filter((f) => /^(id: .*\n)?data: /.test(f))
      .map((f) => JSON.parse(f.slice(f.indexOf('data: ') + 6)).id);
  });
}

// What every client must get: the log exactly once, in order, one session
// for the question, the end, and no request after it.
async function assertExactlyOnce(page, before) {
  await page.waitForFunction(() => window.run.done || window.run.error, null, { timeout: 60000 });
  const run = await page.evaluate(() => window.run);
  assert.equal(run.error, null);
  const ids = run.events.map((e) => e.id);
  assert.deepEqual(ids, await logOf(page), 'the events shown are the log, once');
  assert.equal(run.events.at(-1).event_type, 'FinalAnswerStreamEnd');
  const thought = run.events.filter((e) => e.event_type === 'AgentThoughtStream').map((e) => e.payload.char).join('');
  assert.equal(thought, 'Let me look that up.');
  const after = await counters();
  assert.equal(after.sessions - before.sessions, 1, 'one Kafka record for the question');
  await page.waitForTimeout(1500);
  const later = await counters();
  assert.deepEqual(later, after, 'nothing polls after the end');
  return run;
}

for (const key of [null, 'a-key-' + Date.now()]) {
  test(`fetch-event-source ${key ? 'with' : 'without'} an Idempotency-Key: cut twice mid-answer, every event once`, async () => {
    const page = await browser.newPage();
    const before = await counters();
    await startAsking(page, { question: 'How does a retry find its session?', key });
    for (let cut = 0; cut < 2; cut++) {
      const shown = await page.evaluate(() => window.run.events.length);
      await shownMoreThan(page, shown + 3);
      assert.ok(proxy.cutAll() > 0, 'nothing to cut');
    }
    const run = await assertExactlyOnce(page, before);
    assert.ok(run.opens >= 3, `opens: ${run.opens}`);
    assert.ok((await counters()).resumes - before.resumes >= 2);
    await page.close();
  });
}

test('fetch-event-source in a tab hidden then shown (openWhenHidden: false): every event once', async () => {
  const page = await browser.newPage();
  const before = await counters();
  await startAsking(page, { question: 'What happens when I switch tabs?' });
  const setHidden = (hidden) => page.evaluate((h) => {
    Object.defineProperty(document, 'hidden', { value: h, configurable: true });
    document.dispatchEvent(new Event('visibilitychange'));
  }, hidden);
  await shownMoreThan(page, 3);
  await setHidden(true); // the library aborts its request...
  await page.waitForTimeout(500);
  await setHidden(false); // ...and POSTs again when the tab is shown
  const run = await assertExactlyOnce(page, before);
  assert.ok(run.opens >= 2, `opens: ${run.opens}`);
  assert.ok((await counters()).resumes - before.resumes >= 1, 'the shown tab resumed its session');
  await page.close();
});
