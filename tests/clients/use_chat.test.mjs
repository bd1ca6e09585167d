// useChat itself (@ai-sdk/react, npm, pinned) in a React page in Debian's
// Chromium, configured only with `new DefaultChatTransport({ api:
// '/v1/chat' })` and `resume: true`, against a real gateway, worker and
// redis-server: the answer streams in; a reload mid-answer picks it up and
// shows it once; Stop stops the worker, confirmed; a connection cut
// mid-answer and resumed never shows text twice.
// Usage: node --test use_chat.test.mjs  (BIN_DIR = folder of the ssebridge binaries)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { launchChromium, proxyTo, startAnswering, startGateway, tearDown } from '../support/harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
let browser, gatewayUrl, apiUrl, proxy, workDir, appBundle;

// The chat page: what the docs/clients.md snippet shows, and a Stop button.
// It mounts on `window.startChat(chatId)`; its state is on `window.chat`.
const app = `
import { createElement as h, useEffect } from 'react';
import { createRoot } from 'react-dom/client';
import { useChat } from '@ai-sdk/react';
import { DefaultChatTransport } from 'ai';

function Chat({ chatId, base, credentials }) {
  const { messages, sendMessage, stop, status, error, resumeStream } = useChat({
    id: chatId,
    transport: new DefaultChatTransport({ api: base + '/v1/chat', credentials }),
    resume: true,
  });
  const onStop = async () => {
    stop();
    const r = await fetch(base + '/v1/chat/' + chatId + '/cancel', { method: 'POST', credentials });
    window.chat.stopped = { status: r.status, body: await r.json() };
  };
  useEffect(() => {
    Object.assign(window.chat, { messages, status, error: error ? error.message : null, sendMessage, resumeStream, onStop });
  });
  const assistant = messages.filter((m) => m.role === 'assistant').at(-1);
  const text = (type) => assistant ? assistant.parts.filter((p) => p.type === type).map((p) => p.text).join('') : '';
  return h('div', null,
    h('p', { id: 'status' }, status),
    h('p', { id: 'thought' }, text('reasoning')),
    h('p', { id: 'answer' }, text('text')),
    h('button', { id: 'stop', onClick: onStop }, 'Stop'));
}

// \`base\`: the gateway's origin when it is not the page's (then \`credentials:
// 'include'\`, so that the browser sends the chat's cookie across origins).
window.startChat = (chatId, base = '') => {
  window.chat = { stopped: null, fetching: 0 };
  // Requests whose answer has not begun: the resume useChat sends on mount
  // must be answered before a test sends (its 204 would end the new stream).
  const fetchAnswer = window.fetch.bind(window);
  window.fetch = async (...args) => {
    window.chat.fetching++;
    try { return await fetchAnswer(...args); } finally { window.chat.fetching--; }
  };
  document.body.innerHTML = '<div id="root"></div>';
  const credentials = base ? 'include' : 'same-origin';
  createRoot(document.getElementById('root')).render(h(Chat, { chatId, base, credentials }));
};
`;

before(async () => {
  let redisUrl, bootstrap;
  ({ workDir, redisUrl, bootstrap, gatewayUrl } = await startAnswering('use-chat', { delay: 0.04 }));
  // Another origin's gateway, for a page served by the first: it lets that
  // origin's pages send their cookies (--cors-origin names it).
  ({ url: apiUrl } = await startGateway(['--redis', redisUrl, '--kafka-brokers', bootstrap,
    '--ack-timeout', '30', '--cors-origin', gatewayUrl]));
  proxy = await proxyTo(gatewayUrl);
  const bundled = await build({
    stdin: { contents: app, resolveDir: here }, bundle: true, format: 'iife', write: false,
    logLevel: 'silent', define: { 'process.env.NODE_ENV': '"production"' },
  });
  appBundle = bundled.outputFiles[0].text;
  browser = await launchChromium();
});

after(() => tearDown({ browser, proxy, workDir }));

let chats = 0;
// Opens the chat page (on `origin`) for `chatId`, as a load of the app would.
async function openChat(page, origin, chatId, base = '') {
  await page.goto(origin + '/');
  await page.addScriptTag({ content: appBundle });
  await page.evaluate(([id, b]) => window.startChat(id, b), [chatId, base]);
  await page.waitForFunction(() => window.chat.sendMessage && window.chat.fetching === 0, null,
    { timeout: 10000, polling: 50 });
}

// Waits until the answer shown has `n` characters or more (a text shown twice
// has more), or the chat failed: the resume of a reload has run to its end.
// (`status` alone says `ready` before the resume has begun.)
function answerOfLength(page, n) {
  return page.waitForFunction((k) => window.chat.status === 'error' ||
    (window.chat.status === 'ready' && document.getElementById('answer').textContent.length >= k),
  n, { timeout: 30000, polling: 50 });
}

const shown = (page) => page.evaluate(() => ({
  status: window.chat.status,
  error: window.chat.error,
  thought: document.getElementById('thought').textContent,
  answer: document.getElementById('answer').textContent,
}));

test('useChat streams an answer from the reference worker', async () => {
  const page = await browser.newPage();
  const chatId = `use-chat-${++chats}`;
  await openChat(page, gatewayUrl, chatId);
  await page.evaluate(() => { window.chat.sendMessage({ text: 'Where is Paris?' }); });
  await page.waitForFunction(() => window.chat.status === 'ready' && window.chat.messages.length === 2,
    null, { timeout: 30000, polling: 50 });
  assert.deepEqual(await shown(page), {
    status: 'ready', error: null, thought: 'Let me look that up.', answer: 'You asked: Where is Paris?',
  });
  const parts = await page.evaluate(() => window.chat.messages[1].parts.map((p) => p.type));
  assert.ok(parts.includes('tool-web_search'), parts.join());
  await page.close();
});

test('a reload mid-answer picks the answer up and shows it once', async () => {
  const page = await browser.newPage();
  const chatId = `use-chat-${++chats}`;
  const question = 'What does a reload keep?';
  await openChat(page, gatewayUrl, chatId);
  await page.evaluate((q) => { window.chat.sendMessage({ text: q }); }, question); // (not awaited: it resolves at the end)
  await page.waitForFunction(() => document.getElementById('answer').textContent.length > 3, null,
    { timeout: 30000, polling: 50 });
  await page.reload(); // the page and its state go; the chat goes on
  await openChat(page, gatewayUrl, chatId);
  await answerOfLength(page, ('You asked: ' + question).length);
  const after = await shown(page);
  assert.equal(after.answer, 'You asked: ' + question);
  assert.equal(after.thought, 'Let me look that up.');
  assert.equal(after.error, null);
  // Loaded again once it ended: nothing to resume (204), nothing shown twice.
  await page.reload();
  await openChat(page, gatewayUrl, chatId);
  await page.waitForTimeout(1000);
  assert.equal((await shown(page)).answer, '');
  await page.close();
});

test('Stop stops the worker: the cancel is confirmed and nothing more is shown', async () => {
  const page = await browser.newPage();
  const chatId = `use-chat-${++chats}`;
  await openChat(page, gatewayUrl, chatId);
  await page.evaluate(() => { window.chat.sendMessage({ text: 'Tell me a very long story that I will stop halfway.' }); });
  await page.waitForFunction(() => document.getElementById('answer').textContent.length > 3, null,
    { timeout: 30000, polling: 50 });
  await page.click('#stop');
  await page.waitForFunction(() => window.chat.stopped, null, { timeout: 15000, polling: 50 });
  assert.deepEqual(await page.evaluate(() => window.chat.stopped), { status: 200, body: { cancelled: true } });
  const stopped = (await shown(page)).answer;
  await page.waitForTimeout(500);
  assert.equal((await shown(page)).answer, stopped, 'nothing after the Stop');
  assert.ok(stopped.length < 'You asked: Tell me a very long story that I will stop halfway.'.length);
  // Nothing runs in the chat any more: a reload resumes nothing.
  const resumed = await page.evaluate(async (id) => (await fetch(`/v1/chat/${id}/stream`)).status, chatId);
  assert.equal(resumed, 204);
  await page.close();
});

test('a connection cut mid-answer, then resumeStream(): the answer once', async () => {
  const page = await browser.newPage();
  const chatId = `use-chat-${++chats}`;
  const question = 'Does a cut show anything twice?';
  await openChat(page, proxy.url, chatId);
  await page.evaluate((q) => { window.chat.sendMessage({ text: q }); }, question); // (not awaited: it resolves at the end)
  await page.waitForFunction(() => document.getElementById('answer').textContent.length > 3, null,
    { timeout: 30000, polling: 50 });
  assert.ok(proxy.cutAll() > 0, 'nothing to cut');
  await page.waitForFunction(() => window.chat.status === 'error', null, { timeout: 15000, polling: 50 });
  const cutAt = (await shown(page)).answer;
  assert.ok(cutAt.length > 3 && cutAt.length < question.length + 11, cutAt);
  await page.evaluate(() => { window.chat.resumeStream(); });
  await page.waitForFunction(() => window.chat.status === 'ready', null, { timeout: 30000, polling: 50 });
  const after = await shown(page);
  assert.equal(after.answer, 'You asked: ' + question);
  assert.equal(after.thought, 'Let me look that up.');
  const assistants = await page.evaluate(() => window.chat.messages.filter((m) => m.role === 'assistant').length);
  assert.equal(assistants, 1);
  await page.close();
});

test('a page on another origin: the gateway named it (--cors-origin), and the chat works with its cookie',
  async () => {
    const page = await browser.newPage();
    const chatId = `use-chat-${++chats}`;
    await openChat(page, gatewayUrl, chatId, apiUrl);
    await page.evaluate(() => { window.chat.sendMessage({ text: 'Across origins?' }); });
    await page.waitForFunction(() => document.getElementById('answer').textContent.length > 3, null,
      { timeout: 30000, polling: 50 });
    // A reload on the page's origin resumes from the API's: the cookie went along.
    await page.reload();
    await openChat(page, gatewayUrl, chatId, apiUrl);
    await answerOfLength(page, 'You asked: Across origins?'.length);
    assert.equal((await shown(page)).answer, 'You asked: Across origins?');
    // Stop across origins, on a second question.
    await page.evaluate(() => { window.chat.sendMessage({ text: 'Now a long one that I will stop, please.' }); });
    await page.waitForFunction(() => window.chat.messages.length === 3 && // resumed, asked, answering
      document.getElementById('answer').textContent.length > 3, null, { timeout: 30000, polling: 50 });
    await page.click('#stop');
    await page.waitForFunction(() => window.chat.stopped, null, { timeout: 15000, polling: 50 });
    assert.deepEqual(await page.evaluate(() => window.chat.stopped), { status: 200, body: { cancelled: true } });
    await page.close();
  });
