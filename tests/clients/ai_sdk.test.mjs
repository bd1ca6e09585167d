// The AI SDK profile (DESIGN.md §8) read by the `ai` package itself (npm,
// pinned): every chunk the gateway writes is parsed and validated by its
// own parseJsonEventStream and uiMessageChunkSchema, and readUIMessageStream
// builds the message useChat would show. Against a real gateway, worker and
// redis-server; a second gateway without a worker takes events published by
// ssebridge-publish (tool calls, types the seed does not know).
// Usage: node --test ai_sdk.test.mjs  (BIN_DIR = folder of the ssebridge binaries)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { parseJsonEventStream, readUIMessageStream, uiMessageChunkSchema } from 'ai';
import { binDir, startAnswering, startGateway, tearDown } from '../support/harness.mjs';

let gatewayUrl, bareUrl, redisUrl, workDir;

before(async () => {
  ({ workDir, redisUrl, gatewayUrl } = await startAnswering('ai-sdk', { delay: 0.03 }));
  ({ url: bareUrl } = await startGateway(['--redis', redisUrl, '--ack-timeout', '30']));
});

after(() => tearDown({ workDir }));

let chats = 0;
// The body useChat's DefaultChatTransport sends for a new question.
function chatBody(question, id = `chat-${process.pid}-${++chats}`) {
  return {
    id,
    messages: [{ id: 'u1', role: 'user', parts: [{ type: 'text', text: question }] }],
    trigger: 'submit-message',
    messageId: undefined,
  };
}

function ask(url, body, cookie) {
  const headers = { 'Content-Type': 'application/json' };
  if (cookie) headers.Cookie = cookie;
  return fetch(url + '/v1/chat', { method: 'POST', headers, body: JSON.stringify(body) });
}

const cookieOf = (response) => response.headers.get('set-cookie')?.split(';')[0];

// Reads a UI message stream as the SDK does: every chunk through its own
// parser and schema (a chunk that fails throws), then into a UI message.
async function readUi(response, { stopAfter = Infinity } = {}) {
  const chunks = [];
  const parsed = parseJsonEventStream({ stream: response.body, schema: uiMessageChunkSchema });
  const checked = parsed.pipeThrough(new TransformStream({
    transform(result, out) {
      if (!result.success) throw new Error(`a chunk the SDK refuses: ${result.error} (${result.rawValue})`);
      chunks.push(result.value);
      out.enqueue(result.value);
      if (chunks.length >= stopAfter) out.terminate();
    },
  }));
  let message;
  for await (const m of readUIMessageStream({ stream: checked, terminateOnError: true })) message = m;
  return { chunks, message };
}

const textOf = (message, type) => message.parts.filter((p) => p.type === type).map((p) => p.text).join('');

test('useChat\'s POST gets a UI message stream: every chunk the SDK\'s own, the message whole', async () => {
  const response = await ask(gatewayUrl, chatBody('Where is Paris?'));
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('x-vercel-ai-ui-message-stream'), 'v1');
  assert.match(response.headers.get('content-type'), /^text\/event-stream/);
  assert.match(response.headers.get('set-cookie'), /^ssebridge_chat=[A-Za-z0-9_-]{22}; Path=\/v1\/chat; .*HttpOnly; SameSite=Strict/);
  const session = response.headers.get('x-session-id');
  const { chunks, message } = await readUi(response);
  assert.deepEqual(chunks[0], { type: 'start', messageId: session });
  assert.deepEqual(chunks.at(-1), { type: 'finish', finishReason: 'stop' });
  assert.equal(message.id, session);
  assert.equal(message.role, 'assistant');
  assert.equal(textOf(message, 'reasoning'), 'Let me look that up.');
  assert.equal(textOf(message, 'text'), 'You asked: Where is Paris?');
  const tool = message.parts.find((p) => p.type === 'tool-web_search');
  assert.ok(tool, JSON.stringify(message.parts));
  assert.equal(tool.state, 'input-available');
});

test('a reload mid-answer resumes the chat from its start: the answer once; a chat that runs nothing gets 204',
  async () => {
    const body = chatBody('What survives a reload?');
    const first = await ask(gatewayUrl, body);
    const cookie = cookieOf(first);
    const partial = await readUi(first, { stopAfter: 6 }); // the page goes away mid-answer
    assert.equal(partial.chunks.length, 6);
    const resumed = await fetch(`${gatewayUrl}/v1/chat/${body.id}/stream`, { headers: { Cookie: cookie } });
    assert.equal(resumed.status, 200);
    assert.equal(resumed.headers.get('x-vercel-ai-ui-message-stream'), 'v1');
    const { chunks, message } = await readUi(resumed);
    assert.equal(chunks.filter((c) => c.type === 'start').length, 1);
    assert.equal(textOf(message, 'text'), 'You asked: What survives a reload?');
    assert.equal(textOf(message, 'reasoning'), 'Let me look that up.');
    // The answer is over: the next load has nothing to resume.
    const again = await fetch(`${gatewayUrl}/v1/chat/${body.id}/stream`, { headers: { Cookie: cookie } });
    assert.equal(again.status, 204);
    const never = await fetch(`${gatewayUrl}/v1/chat/never-ran/stream`, { headers: { Cookie: cookie } });
    assert.equal(never.status, 204);
  });

test("a chat is its browser's: another cookie, or none, reads and cancels nothing and cannot post into it",
  async () => {
    const body = chatBody('Whose chat is this?');
    const mine = await ask(gatewayUrl, body);
    const cookie = cookieOf(mine);
    const other = cookieOf(await ask(gatewayUrl, chatBody('another browser\'s chat')));
    assert.notEqual(other, cookie);
    for (const headers of [{}, { Cookie: other }, { Cookie: 'ssebridge_chat=forged' }]) {
      const read = await fetch(`${gatewayUrl}/v1/chat/${body.id}/stream`, { headers });
      assert.equal(read.status, 403);
      assert.match((await read.json()).detail, /belongs to another browser/);
      const stop = await fetch(`${gatewayUrl}/v1/chat/${body.id}/cancel`, { method: 'POST', headers });
      assert.equal(stop.status, 403);
    }
    const intruder = await ask(gatewayUrl, body, other);
    assert.equal(intruder.status, 403);
    assert.equal(intruder.headers.get('x-session-id'), null, 'no session for it');
    await readUi(mine); // the owner's answer goes on, whole
  });

test('Stop: the cancel of a chat stops its worker, confirmed, and the stream ends with abort', async () => {
  const body = chatBody('Tell me a long story, slowly, that I will stop.');
  const response = await ask(gatewayUrl, body);
  const cookie = cookieOf(response);
  const session = response.headers.get('x-session-id');
  const token = response.headers.get('x-session-token');
  const reading = readUi(response);
  await new Promise((done) => setTimeout(done, 300));
  const stop = await fetch(`${gatewayUrl}/v1/chat/${body.id}/cancel`, { method: 'POST', headers: { Cookie: cookie } });
  assert.equal(stop.status, 200);
  assert.deepEqual(await stop.json(), { cancelled: true });
  const { chunks } = await reading;
  assert.equal(chunks.at(-1).type, 'abort');
  // The session's log ends with `cancelled`, nothing after it.
  const log = await (await fetch(`${gatewayUrl}/v1/react/sessions/${session}/events?token=${token}`)).text();
  const types = log.split('\n\n').filter((f) => f.includes('data: '))
    .map((f) => JSON.parse(f.slice(f.indexOf('data: ') + 6)).event_type);
  assert.equal(types.at(-1), 'cancelled');
  const again = await fetch(`${gatewayUrl}/v1/chat/${body.id}/cancel`, { method: 'POST', headers: { Cookie: cookie } });
  assert.equal(again.status, 200, 'a repeat is answered alike');
  const none = await fetch(`${gatewayUrl}/v1/chat/never-ran/cancel`, { method: 'POST', headers: { Cookie: cookie } });
  assert.equal(none.status, 404);
});

test('tool calls and event types the seed does not know arrive as their parts', async () => {
  const response = await ask(bareUrl, chatBody('Which parts are there?'));
  const session = response.headers.get('x-session-id');
  const publish = (type, payload) => execFileSync(join(binDir, 'ssebridge-publish'),
    ['--redis', redisUrl, session, type, JSON.stringify(payload)]);
  const reading = readUi(response);
  publish('worker_ack', {});
  publish('AgentToolCallStart', { tool_name: 'get_weather', city: 'Paris' });
  publish('SourcesFound', { urls: ['https://example.org/paris'] });
  publish('FinalAnswerStream', { char: 'S' });
  publish('FinalAnswerStream', { char: 'unny' });
  publish('FinalAnswerStreamEnd', {});
  const { message } = await reading;
  const tool = message.parts.find((p) => p.type === 'tool-get_weather');
  assert.deepEqual(tool.input, { city: 'Paris' });
  const data = message.parts.find((p) => p.type === 'data-SourcesFound');
  assert.deepEqual(data.data, { urls: ['https://example.org/paris'] });
  assert.equal(textOf(message, 'text'), 'Sunny');
});

test('bad chat bodies get their reason', async () => {
  const post = (body, type = 'application/json') => fetch(gatewayUrl + '/v1/chat',
    { method: 'POST', headers: { 'Content-Type': type }, body });
  for (const [body, status, detail] of [
    ['{', 400, /not valid JSON/],
    [JSON.stringify({ messages: chatBody('q').messages }), 422, /chat's id/],
    [JSON.stringify({ id: 'has space', messages: chatBody('q').messages }), 422, /chat's id/],
    [JSON.stringify({ id: 'c', messages: [] }), 422, /user message that has text/],
  ]) {
    const r = await post(body);
    assert.equal(r.status, status, body);
    assert.match((await r.json()).detail, detail);
  }
  assert.equal((await post('{}', 'text/plain')).status, 415);
});
