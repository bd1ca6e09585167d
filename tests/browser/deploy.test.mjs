// deploy/ in a browser: nginx with deploy/nginx/ssebridge.conf (TLS, HTTP/2,
// a self-signed certificate made here) in front of two gateways sharing one
// token secret. Twelve demo pages in one tab stream at once over one HTTP/2
// connection (over HTTP/1.1 the seventh waits), and a gateway drained
// mid-stream loses none of them: its readers resume on the other.
// Usage: node --test deploy.test.mjs  (BIN_DIR = folder of the ssebridge binaries)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  binDir, freePort, launchChromium, repo, start, startGateway, startRedis, startWorker, stop, tearDown,
  waitListening,
} from '../support/harness.mjs';

const streams = 12;
let browser, context, front, a, b, workDir;

// `text` with `from` replaced by `to`; fails when `from` is not there, so the
// shipped configuration cannot drift from what this test rewrites.
function must(text, from, to) {
  assert.ok(from instanceof RegExp ? from.test(text) : text.includes(from), `ssebridge.conf lost ${from}`);
  return text.replace(from, to);
}

// The shipped site configuration with this test's ports and certificate, in an
// nginx.conf that runs in the foreground as the current user.
function nginxConfig(dir, port, cert, key) {
  let site = readFileSync(join(repo, 'deploy', 'nginx', 'ssebridge.conf'), 'utf8');
  site = must(site, 'server 127.0.0.1:8080 ', `server 127.0.0.1:${a.port} `);
  site = must(site, 'server 127.0.0.1:8081 ', `server 127.0.0.1:${b.port} `);
  site = must(site, 'listen 443 ssl http2;', `listen 127.0.0.1:${port} ssl http2;`);
  site = must(site, /\n\s*listen \[::\]:443 ssl http2;/, '');
  site = must(site, '/etc/ssl/certs/ssebridge.pem', cert);
  site = must(site, '/etc/ssl/private/ssebridge.key', key);
  site = must(site, '/var/log/nginx/ssebridge.access.log', join(dir, 'access.log'));
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((t) => `  ${t}_temp_path ${join(dir, t)};`).join('\n');
  return `daemon off;\nmaster_process off;\npid ${join(dir, 'nginx.pid')};\nerror_log stderr crit;\n` +
    `events { worker_connections 1024; }\nhttp {\n${temp}\n${site}\n}\n`;
}

before(async () => {
  assert.ok(binDir, 'BIN_DIR must name the folder of the ssebridge binaries');
  workDir = mkdtempSync(join(tmpdir(), 'ssebridge-deploy-'));
  const redisUrl = await startRedis(workDir);
  const shared = ['--redis', redisUrl, '--token-secret', 'one secret for the deployment',
    '--ack-timeout', '30'];
  a = await startGateway(shared); // holds the embedded Kafka: b is the one drained
  b = await startGateway([...shared, '--kafka-brokers', a.bootstrap]);
  await startWorker(redisUrl, a.bootstrap, ['--delay', '0.04', '--max-in-flight', '64',
    '--answer', 'You asked: {query}']);

  const cert = join(workDir, 'cert.pem');
  const key = join(workDir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1',
    '-subj', '/CN=localhost', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  const nginxDir = join(workDir, 'nginx');
  mkdirSync(nginxDir);
  const port = await freePort();
  writeFileSync(join(nginxDir, 'nginx.conf'), nginxConfig(nginxDir, port, cert, key));
  await start('nginx', ['-p', nginxDir, '-c', join(nginxDir, 'nginx.conf'), '-e', 'stderr']);
  await waitListening(port);
  front = `https://127.0.0.1:${port}`;

  browser = await launchChromium();
  context = await browser.newContext({ ignoreHTTPSErrors: true });
});

after(() => tearDown({ browser, workDir }));

// Opens `streams` demo pages as iframes of one tab at `origin` and asks each
// its own question; resolves with the page.
async function askInFrames(origin) {
  const page = await context.newPage();
  await page.goto(origin + '/');
  await page.evaluate(async (n) => {
    document.body.innerHTML = '';
    await Promise.all(Array.from({ length: n }, () => new Promise((resolve) => {
      const f = document.createElement('iframe');
      f.src = '/';
      f.onload = resolve;
      document.body.append(f);
    })));
    document.querySelectorAll('iframe').forEach((f, i) => {
      f.contentDocument.getElementById('question').value = `question ${i + 1} of ${n}, answered slowly`;
      f.contentDocument.getElementById('send').click();
    });
  }, streams);
  return page;
}

// The state of each frame's session: [state, answer, resumes].
const frameStates = (page) => page.evaluate(() => [...document.querySelectorAll('iframe')].map((f) => {
  const d = f.contentDocument;
  return [d.getElementById('state').dataset.state, d.getElementById('answer-display').textContent,
    Number(d.getElementById('resumes').textContent)];
}));

// Polls until every frame is done (or `onAllStreaming` has run and they all
// are); resolves with the most frames seen streaming at once.
async function follow(page, onAllStreaming) {
  let most = 0;
  let called = false;
  for (let i = 0; i < 1200; i++) {
    const states = await frameStates(page);
    const streaming = states.filter(([s]) => s === 'streaming').length;
    most = Math.max(most, streaming);
    if (onAllStreaming && !called && streaming === streams && states.every(([, answer]) => answer.length > 2)) {
      called = true;
      await onAllStreaming();
    }
    if (states.every(([s]) => s === 'done' || s === 'error')) return most;
    await page.waitForTimeout(50);
  }
  throw new Error('the streams never ended');
}

const liveSessions = async (gateway) => {
  const text = await (await fetch(gateway.url + '/metrics')).text();
  return Number(/^ssebridge_sessions_live (\d+)$/m.exec(text)[1]);
};

test('twelve streams of one page through nginx over HTTP/2; a gateway drained mid-stream loses none', async () => {
  const page = await askInFrames(front);
  const log = () => readFileSync(join(workDir, 'nginx', 'access.log'), 'utf8');
  assert.equal(await page.evaluate(() => performance.getEntriesByType('navigation')[0].nextHopProtocol), 'h2');
  let drained;
  const most = await follow(page, async () => {
    // Both gateways carry some of the streams, or the drain proves nothing.
    const [onA, onB] = [await liveSessions(a), await liveSessions(b)];
    assert.ok(onA > 0 && onB > 0, `sessions on a: ${onA}, on b: ${onB}`);
    drained = { onB, exit: stop(b.child) }; // SIGTERM, as a deploy does
  });
  assert.equal(most, streams, 'every stream was live at once');
  assert.ok(drained, 'the drain happened while all streams were live');
  assert.deepEqual(await drained.exit, { code: 0, signal: null });
  const states = await frameStates(page);
  states.forEach(([state, answer], i) => {
    assert.equal(state, 'done', `frame ${i + 1}`);
    assert.equal(answer, `You asked: question ${i + 1} of ${streams}, answered slowly`); // all of it, once
  });
  const resumed = states.reduce((sum, [, , r]) => sum + r, 0);
  assert.ok(resumed >= drained.onB, `${resumed} resumes for ${drained.onB} drained sessions`);
  // The resumes went through nginx, which keeps session tokens out of its log.
  assert.match(log(), /"GET \/v1\/react\/sessions\/[0-9a-f]{32}\/events HTTP\/2.0" 200/);
  assert.doesNotMatch(log(), /token=/);
  await page.close();
});

test('the same page over HTTP/1.1 straight to a gateway: the seventh stream waits', async () => {
  const page = await askInFrames(a.url);
  assert.equal(await page.evaluate(() => performance.getEntriesByType('navigation')[0].nextHopProtocol), 'http/1.1');
  const most = await follow(page);
  assert.equal(most, 6); // Chromium's connections per origin
  for (const [state] of await frameStates(page)) assert.equal(state, 'done');
  await page.close();
});
