// The SSE clients that run outside a browser, unchanged, against a real
// gateway, worker and redis-server, through a TCP proxy that cuts
// connections mid-answer: the npm `eventsource` package and curl. Each: the
// events it gets are the session's log, once; one Kafka record per question;
// it ends; nothing polls after the end.
// Usage: node --test node.test.mjs  (BIN_DIR = folder of the ssebridge binaries)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { EventSource } from 'eventsource';
import { counters, eventIds, logOf, proxyTo, startAnswering, tearDown } from '../support/harness.mjs';

let gatewayUrl, proxy, workDir;

before(async () => {
  ({ workDir, gatewayUrl } = await startAnswering('node-clients', { delay: 0.03 }));
  proxy = await proxyTo(gatewayUrl);
});

after(() => tearDown({ proxy, workDir }));

const body = (question) => JSON.stringify({ user_query: question, model_alias: 'smart_agent' });
const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

async function until(condition, what, ms = 30000) {
  for (const deadline = Date.now() + ms; !condition(); await sleep(20))
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
}

// What every client must get: the log exactly once, in order, one session
// for the question, and no request after the end.
async function assertExactlyOnce(ids, session, token, before) {
  assert.deepEqual(ids, await logOf(gatewayUrl, session, token), 'the events are the log, once');
  const after = await counters(gatewayUrl);
  assert.equal(after.sessions - before.sessions, 1, 'one Kafka record for the question');
  await sleep(1500);
  assert.deepEqual(await counters(gatewayUrl), after, 'nothing polls after the end');
  return after;
}

test('npm eventsource on GET …/events, cut twice mid-answer and left open: every event once, then CLOSED',
  async () => {
    const before = await counters(gatewayUrl);
    // The session is asked for on the gateway itself; its POST stream is read
    // to the end in the background, as the page that asked would.
    const asked = await fetch(gatewayUrl + '/v1/react/sessions', {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: body('Who reads this?'),
    });
    const session = asked.headers.get('X-Session-Id');
    const token = asked.headers.get('X-Session-Token');
    const posted = asked.text();

    const es = new EventSource(`${proxy.url}/v1/react/sessions/${session}/events?token=${token}`);
    const seen = [];
    let errors = 0;
    es.onmessage = (e) => seen.push(JSON.parse(e.data));
    es.onerror = () => { errors += 1; };
    for (let cut = 0; cut < 2; cut++) {
      const shown = seen.length;
      await until(() => seen.length > shown + 3, 'events after a cut');
      assert.ok(proxy.cutAll() > 0, 'nothing to cut');
    }
    // Never closed by the caller: after the terminal event its reconnect gets
    // 204 and the library stops for good.
    await until(() => es.readyState === EventSource.CLOSED, 'the EventSource to close', 20000);
    assert.equal(seen.at(-1).event_type, 'FinalAnswerStreamEnd');
    const after = await assertExactlyOnce(seen.map((e) => e.id), session, token, before);
    assert.ok(after.eventStreams - before.eventStreams >= 3, 'it reconnected after each cut');
    assert.ok(after.ended - before.ended >= 1, 'its last reconnect was told the end');
    assert.equal(es.readyState, EventSource.CLOSED);
    assert.ok(errors >= 2 && errors <= 4, `errors: ${errors}`);
    assert.deepEqual(eventIds(await posted), seen.map((e) => e.id), 'the POST stream has the same events');
  });

// Runs curl with `args`; `onData` sees its stdout as it comes.
function curl(args, onData = () => {}) {
  const child = spawn('curl', ['-sS', '-N', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '', err = '';
  child.stdout.on('data', (d) => { out += d; onData(out); });
  child.stderr.on('data', (d) => { err += d; });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, out, err })));
}

// The id of the last complete frame: the cursor to resume after.
const lastIdLine = (out) => [...out.slice(0, out.lastIndexOf('\n\n')).matchAll(/^id: (.*)$/gm)].at(-1)?.[1];
const bodyOf = (out) => out.slice(out.indexOf('\r\n\r\n') + 4);

test("curl as docs/clients.md shows it: cut mid-answer, the same command with Last-Event-ID resumes", async () => {
  const before = await counters(gatewayUrl);
  const ask = ['-D', '-', '-H', 'Content-Type: application/json', '-H', 'Accept: text/event-stream',
    '-d', body('What does curl see?'), proxy.url + '/v1/react/sessions'];
  let cut = false;
  const first = await curl(ask, (out) => {
    if (!cut && eventIds(bodyOf(out)).length > 5) cut = proxy.cutAll() > 0;
  });
  assert.ok(cut, 'nothing to cut');
  assert.notEqual(first.code, 0, 'curl saw the drop');
  const session = first.out.match(/^x-session-id: (\S+)/im)[1];
  const token = first.out.match(/^x-session-token: (\S+)/im)[1];
  const cursor = lastIdLine(first.out);
  assert.match(cursor, new RegExp(`^[0-9]+-[0-9]+\\.${session}\\.[A-Za-z0-9_-]{22}$`));

  const second = await curl(['-H', `Last-Event-ID: ${cursor}`, ...ask]);
  assert.equal(second.code, 0, second.err);
  assert.match(second.out, /^HTTP\/1\.1 200/);
  assert.equal(second.out.match(/^x-session-id: (\S+)/im)[1], session, 'the same session');
  const ids = [...eventIds(bodyOf(first.out)), ...eventIds(bodyOf(second.out))];
  await assertExactlyOnce(ids, session, token, before);
  assert.equal((await counters(gatewayUrl)).resumes - before.resumes, 1);

  // Once more with the last cursor: the answer is complete, 204.
  const third = await curl(['-o', '/dev/null', '-w', '%{http_code}', '-H',
    `Last-Event-ID: ${lastIdLine(second.out)}`, ...ask.slice(2)]);
  assert.equal(third.out, '204');
});
