// What the JavaScript tests share: free ports, child processes that are
// stopped with SIGTERM at the end, gateways started on free ports, headless
// Chromium, a cutting proxy, and what the gateway says it did.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect, createServer } from 'node:net';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const binDir = process.env.BIN_DIR;
/// Every process started here, in order.
export const children = [];

export function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

// Starts a process; resolves with its child and the stdout lines up to the
// first that includes `marker` (at once when there is no marker).
export function start(cmd, args, marker, { stderr = 'inherit' } = {}) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', stderr] });
  children.push(child);
  if (!marker) return Promise.resolve({ child, lines: [] });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${cmd}: no '${marker}' line`)), 15000);
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes(marker)) { clearTimeout(timer); resolve({ child, lines: out.split('\n') }); }
    });
    child.on('exit', (code) => reject(new Error(`${cmd} exited with ${code}`)));
  });
}

// The value of the first line starting with `prefix`.
export const lineAfter = (lines, prefix) => lines.find((l) => l.startsWith(prefix))?.slice(prefix.length);

export async function waitReady(url) {
  for (let i = 0; i < 200; i++) {
    try { if ((await fetch(url + '/readyz')).ok) return; } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url} never became ready`);
}

// Resolves once something accepts connections on 127.0.0.1:`port`.
export async function waitListening(port) {
  for (let i = 0; i < 200; i++) {
    const up = await new Promise((resolve) => {
      const s = connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    if (up) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on ${port}`);
}

export async function startRedis(dir) {
  const port = await freePort();
  start('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '',
    '--appendonly', 'no', '--dir', dir]);
  await waitListening(port);
  return `redis://127.0.0.1:${port}`;
}

// Starts a gateway with the demo page; resolves with its child, URL, port
// and Kafka bootstrap (when it embeds the mock).
export async function startGateway(extra) {
  const { child, lines } = await start(join(binDir, 'ssebridge-gateway'), ['--listen',
    '127.0.0.1:0', '--static-dir', join(repo, 'web'), '--log-level', 'warn', ...extra],
  'listening on ');
  const address = lineAfter(lines, 'listening on ');
  const url = 'http://' + address;
  await waitReady(url);
  return { child, url, port: Number(address.split(':').pop()), bootstrap: lineAfter(lines, 'kafka.bootstrap=') };
}

// Starts the reference worker on `bootstrap`; resolves once it serves.
export async function startWorker(redisUrl, bootstrap, extra) {
  return (await start(join(binDir, 'ssebridge-worker'), ['--redis', redisUrl, '--kafka-brokers',
    bootstrap, '--log-level', 'warn', ...extra], 'worker ready')).child;
}

// What the client tests answer on: a work folder, a redis-server in it, a
// gateway on it and the reference worker on the gateway's Kafka, answering
// every question with a thought, a web_search tool call and "You asked: …",
// `delay` seconds a character.
export async function startAnswering(name, { delay }) {
  assert.ok(binDir, 'BIN_DIR must name the folder of the ssebridge binaries');
  const workDir = mkdtempSync(join(tmpdir(), `ssebridge-${name}-`));
  const redisUrl = await startRedis(workDir);
  const { bootstrap, url: gatewayUrl } = await startGateway(['--redis', redisUrl, '--ack-timeout', '30']);
  await startWorker(redisUrl, bootstrap, ['--delay', String(delay), '--tool', 'web_search',
    '--answer', 'You asked: {query}']);
  return { workDir, redisUrl, bootstrap, gatewayUrl };
}

// A cutting proxy (startProxy) in front of the server at `url`.
export function proxyTo(url) {
  const at = new URL(url);
  return startProxy({ host: at.hostname, port: Number(at.port) });
}

// Stops `child` with SIGTERM as an operator would; resolves with how it exited.
export function stop(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve({ code: child.exitCode, signal: child.signalCode });
      return;
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), 15000);
    child.on('exit', (code, signal) => { clearTimeout(timer); resolve({ code, signal }); });
    child.kill('SIGTERM');
  });
}

// Stops every child, last started first (a worker leaves its group while the
// gateway's Kafka still runs); each must end on SIGTERM by itself. Returns
// the ones that did not.
export async function stopAll() {
  const failures = [];
  for (const c of children.reverse()) {
    const { signal } = await stop(c);
    if (signal === 'SIGKILL') failures.push(`${c.spawnargs[0]} ignored SIGTERM for 15 s`);
  }
  children.length = 0;
  return failures;
}

export function launchChromium() {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

// A TCP proxy in front of a gateway that can cut every connection through
// it at once, as a network drop would.
export function startProxy(target) {
  const sockets = new Set();
  const server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    url: `http://127.0.0.1:${server.address().port}`,
    cutAll: () => { for (const s of sockets) s.destroy(); return sockets.size; },
    close: () => { for (const s of sockets) s.destroy(); server.close(); },
  })));
}

// The end of a test file: the browser, the proxy, every child process and
// the work folder go; a child that did not stop cleanly fails the file.
export async function tearDown({ browser, proxy, workDir }) {
  if (browser) await browser.close();
  if (proxy) proxy.close();
  const failures = await stopAll();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
  assert.deepEqual(failures, []);
}

// The gateway's counters of sessions and streams, from /metrics.
export async function counters(gatewayUrl) {
  const text = await (await fetch(gatewayUrl + '/metrics')).text();
  const value = (name) => Number(text.match(new RegExp(`^${name} (\\S+)$`, 'm'))?.[1] ?? NaN);
  return {
    sessions: value('ssebridge_sessions_started_total'),
    eventStreams: value('ssebridge_event_streams_started_total'),
    resumes: value('ssebridge_post_resumes_total'),
    ended: value('ssebridge_ended_cursors_total'),
  };
}

// The event ids (the `id` of each `data:` JSON) of an SSE body's complete
// frames, in order: a frame a cut left without its blank line is no event.
export function eventIds(body) {
  return body.split('\n\n').slice(0, -1).filter((f) => /^(id: .*\n)?data: /.test(f))
    .map((f) => JSON.parse(f.slice(f.indexOf('data: ') + 6)).id);
}

// The session's log, as a fresh GET …/events from its start reads it.
export async function logOf(gatewayUrl, session, token) {
  const r = await fetch(`${gatewayUrl}/v1/react/sessions/${session}/events?token=${token}`);
  return eventIds(await r.text());
}
