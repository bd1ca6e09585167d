// The SSE clients of web pages, unchanged, in Debian's Chromium (its
// EventSource, npm's fetch-event-source, the seeds' own), against a real gateway, worker and
// redis-server, through a TCP proxy that cuts connections mid-answer. Each:
// what it shows is the session's log, once (or, for a client that does not
// retry, a part of it, once); one Kafka record per question; it ends;
// nothing polls after.
// Usage: node --test browser.test.mjs  (BIN_DIR = folder of the ssebridge binaries)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { counters as countersOf, eventIds, launchChromium, logOf, proxyTo, startAnswering, tearDown }
  from '../support/harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
let browser, gatewayUrl, proxy, workDir, fetchEventSourceBundle;
const counters = () => countersOf(gatewayUrl);

before(async () => {
  ({ workDir, gatewayUrl } = await startAnswering('clients', { delay: 0.03 }));
  proxy = await proxyTo(gatewayUrl);
  // The library as npm ships it, bundled for a page by esbuild.
  const bundled = await build({
    stdin: { contents: "export { fetchEventSource } from '@microsoft/fetch-event-source';", resolveDir: here },
    bundle: true, format: 'iife', globalName: 'FetchEventSource', write: false, logLevel: 'silent',
  });
  fetchEventSourceBundle = bundled.outputFiles[0].text;
  browser = await launchChromium();
});

after(() => tearDown({ browser, proxy, workDir }));

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

// What every client must get: the log exactly once, in order, one session
// for the question, the end, and no request after it.
async function assertExactlyOnce(page, before) {
  await page.waitForFunction(() => window.run.done || window.run.error, null, { timeout: 60000 });
  const run = await page.evaluate(() => window.run);
  assert.equal(run.error, null);
  const ids = run.events.map((e) => e.id);
  assert.deepEqual(ids, await logOf(gatewayUrl, run.session, run.token), 'the events shown are the log, once');
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

test("the browser's EventSource on GET …/events, cut twice mid-answer and left open: every event once, then CLOSED",
  async () => {
    const page = await browser.newPage();
    await page.goto(proxy.url + '/');
    const before = await counters();
    // The session is asked for on the gateway itself; the page follows it
    // through the proxy and never closes its EventSource, not even at the end.
    const asked = await fetch(gatewayUrl + '/v1/react/sessions', {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ user_query: 'Who follows this?', model_alias: 'smart_agent' }),
    });
    const session = asked.headers.get('X-Session-Id');
    const token = asked.headers.get('X-Session-Token');
    const posted = asked.text();
    await page.evaluate(({ session, token }) => {
      const es = new EventSource(`/v1/react/sessions/${session}/events?token=${token}`);
      window.run = { es, events: [], errors: 0 };
      es.onmessage = (e) => window.run.events.push(JSON.parse(e.data));
      es.onerror = () => { window.run.errors += 1; };
    }, { session, token });
    for (let cut = 0; cut < 2; cut++) {
      const shown = await page.evaluate(() => window.run.events.length);
      await shownMoreThan(page, shown + 3);
      assert.ok(proxy.cutAll() > 0, 'nothing to cut');
    }
    // After the terminal event the browser comes back once with its id, gets
    // 204 and stops for good.
    await page.waitForFunction(() => window.run.es.readyState === EventSource.CLOSED, null, { timeout: 20000 });
    const run = await page.evaluate(() => ({ events: window.run.events, errors: window.run.errors }));
    const ids = run.events.map((e) => e.id);
    assert.deepEqual(ids, await logOf(gatewayUrl, session, token), 'the events shown are the log, once');
    assert.deepEqual(eventIds(await posted), ids, 'the POST stream had the same events');
    assert.equal(run.events.at(-1).event_type, 'FinalAnswerStreamEnd');
    const after = await counters();
    assert.equal(after.sessions - before.sessions, 1, 'one Kafka record for the question');
    assert.ok(after.ended - before.ended >= 1, 'its last reconnect was told the end');
    await page.waitForTimeout(1500);
    assert.deepEqual(await counters(), after, 'nothing polls after the end');
    assert.equal(await page.evaluate(() => window.run.es.readyState), 2);
    await page.close();
  });

// The seeds' clients, unchanged (seed_*.js), through the same proxy.
const seedClient = (name) => readFileSync(join(here, name), 'utf8');

// Opens a page on the proxy that records the console and the session of the
// first POST it makes.
async function seedPage() {
  const page = await browser.newPage();
  const seen = { logs: [], sessions: [] };
  page.on('console', (m) => seen.logs.push(`${m.type()}: ${m.text()}`));
  page.on('response', (r) => {
    if (r.request().method() === 'POST' && r.headers()['x-session-id'])
      seen.sessions.push({ id: r.headers()['x-session-id'], token: r.headers()['x-session-token'] });
  });
  await page.goto(proxy.url + '/');
  await page.evaluate(() => {
    document.getElementById('thought-display').textContent = '';
    document.getElementById('answer-display').textContent = '';
  });
  return { page, seen };
}

// The thought and the answer a session's log holds.
async function textOf(session) {
  const r = await fetch(`${gatewayUrl}/v1/react/sessions/${session.id}/events?token=${session.token}`);
  const events = (await r.text()).split('\n\n').filter((f) => f.includes('data: '))
    .map((f) => JSON.parse(f.slice(f.indexOf('data: ') + 6)));
  const chars = (type) => events.filter((e) => e.event_type === type).map((e) => e.payload.char).join('');
  return { thought: chars('AgentThoughtStream'), answer: chars('FinalAnswerStream') };
}

test("the seed 000 client: the seed's frames, the whole answer once; cut, it shows what it got once and stops",
  async () => {
    const before = await counters();
    const { page, seen } = await seedPage();
    const finished = (s) => s.logs.includes('log: Stream finished.');
    await page.addScriptTag({ content: seedClient('seed_000_client.js') }); // defines the functions and asks
    await page.waitForFunction(() => document.getElementById('answer-display').textContent.length > 20,
      null, { timeout: 30000 });
    for (let i = 0; i < 300 && !finished(seen); i++) await page.waitForTimeout(100);
    assert.ok(finished(seen), seen.logs.join('\n'));
    for (const line of ['log: Backend worker has acknowledged the session.', 'log: Agent is calling tool: web_search',
      'log: Final answer received. Closing connection.'])
      assert.ok(seen.logs.includes(line), seen.logs.join('\n'));
    assert.ok(!seen.logs.some((l) => l.startsWith('error:')), seen.logs.join('\n'));
    assert.equal(await page.textContent('#answer-display'),
      'You asked: What is the capital of France and what is the weather there right now?');
    assert.equal(await page.textContent('#thought-display'), 'Let me look that up.');

    // The same client asked again, cut mid-answer: it does not retry (the
    // seed's design), so it shows a part of the answer, once, and says so.
    await page.evaluate(() => {
      document.getElementById('thought-display').textContent = '';
      document.getElementById('answer-display').textContent = '';
      consumeProxyStream({ user_query: 'And now cut me off, please.', model_alias: 'smart_agent' });
    });
    await page.waitForFunction(() => document.getElementById('thought-display').textContent.length > 3,
      null, { timeout: 30000 });
    assert.ok(proxy.cutAll() > 0, 'nothing to cut');
    for (let i = 0; i < 100 && !seen.logs.some((l) => l.startsWith('error:')); i++) await page.waitForTimeout(100);
    assert.ok(seen.logs.some((l) => l.startsWith('error: An error occurred while consuming the stream')),
      seen.logs.join('\n'));
    const shownThought = await page.textContent('#thought-display');
    const shownAnswer = await page.textContent('#answer-display');
    const logged = await textOf(seen.sessions[1]);
    assert.ok(logged.thought.startsWith(shownThought) && shownThought.length > 3, `shown: ${shownThought}`);
    assert.ok(logged.answer.startsWith(shownAnswer), `shown: ${shownAnswer}`);
    assert.ok(shownThought.length + shownAnswer.length < logged.thought.length + logged.answer.length);
    const after = await counters();
    assert.equal(after.sessions - before.sessions, 2, 'one Kafka record per question');
    await page.waitForTimeout(1500);
    assert.deepEqual(await counters(), after, 'nothing asks after the drop');
    await page.close();
  });

// Runs the seed 002 reader in the page, cuts its stream once mid-answer and
// resolves with what it reported and the sessions it made.
async function askSeed002(client) {
  const before = await counters();
  const { page, seen } = await seedPage();
  await page.addScriptTag({ content: client });
  await page.evaluate(() => {
    window.questionId = crypto.randomUUID(); // made once per question (docs/clients.md)
    window.outcome = { complete: 0, errors: [], done: false };
    streamSSE('/v1/react/sessions', { user_query: 'Stream me, and survive a cut' }, {
      onComplete: () => { window.outcome.complete += 1; },
      onError: (e) => { window.outcome.errors.push(String(e)); },
    }).then(() => { window.outcome.done = true; }, (e) => { window.outcome.errors.push(String(e)); });
  });
  for (let i = 0; i < 300 && seen.sessions.length === 0; i++) await page.waitForTimeout(20);
  await page.waitForTimeout(400); // the worker writes one event every 30 ms: mid-answer
  assert.ok(proxy.cutAll() > 0, 'nothing to cut');
  await page.waitForFunction(() => window.outcome.done || window.outcome.errors.length, null, { timeout: 60000 });
  const outcome = await page.evaluate(() => window.outcome);
  assert.deepEqual(outcome.errors, []);
  assert.equal(outcome.complete, 1);
  // Chromium itself logs the cut (a resource that failed to load); the reader logs nothing.
  assert.ok(!seen.logs.some((l) => l.startsWith('error:') && !l.includes('Failed to load resource')),
    seen.logs.join('\n'));
  const after = await counters();
  await page.waitForTimeout(1500);
  assert.deepEqual(await counters(), after, 'nothing asks after the end');
  await page.close();
  return { sessionsStarted: after.sessions - before.sessions, sessions: seen.sessions };
}

test('the seed 002 reader, unchanged, cut mid-answer: its retry asks again, a second session (by design)',
  async () => {
    const { sessionsStarted, sessions } = await askSeed002(seedClient('seed_002_client.js'));
    assert.equal(sessions.length, 2);
    assert.notEqual(sessions[0].id, sessions[1].id);
    assert.equal(sessionsStarted, 2, 'no cursor, no key: the gateway cannot tell a retry from a question');
  });

test('the seed 002 reader with the one header docs/clients.md shows: its retry joins its session', async () => {
  const accept = "Accept: 'text/event-stream',";
  const client = seedClient('seed_002_client.js');
  assert.ok(client.includes(accept));
  const { sessionsStarted, sessions } = await askSeed002(
    client.replace(accept, accept + "\n        'Idempotency-Key': window.questionId,"));
  assert.equal(sessions.length, 2);
  assert.equal(sessions[0].id, sessions[1].id, 'the retry joined the session');
  assert.equal(sessionsStarted, 1, 'one Kafka record for the question');
});
