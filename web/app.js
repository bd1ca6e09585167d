// The demo page's client: the seed's fetch-based reader (same parsing: split
// on "\n\n", keep parts starting with "data: "), plus what a person needs to
// see: the connection state, the session id, the tool, and every error.
'use strict';

const $ = (id) => document.getElementById(id);

function setState(state, text) {
  $('state').dataset.state = state;
  $('state').textContent = text || state;
}

function showError(message) {
  $('error').textContent = message;
  $('error').hidden = false;
  setState('error');
}

function handleStreamEvent(jsonData) {
  let event;
  try {
    event = JSON.parse(jsonData);
  } catch (e) {
    console.error('Failed to parse JSON from stream:', jsonData);
    return;
  }
  const payload = event.payload || {};
  switch (event.event_type) {
    case 'worker_ack':
      setState('streaming', 'streaming (worker acknowledged)');
      break;
    case 'AgentThoughtStream':
      $('thought-display').textContent += payload.char;
      break;
    case 'AgentToolCallStart':
      $('tool').textContent = payload.tool_name;
      break;
    case 'FinalAnswerStream':
      $('answer-display').textContent += payload.char;
      break;
    case 'FinalAnswerStreamEnd':
      setState('done');
      break;
    case 'error':
      showError('The stream ended with an error: ' + payload.error);
      break;
    default:
      break; // unknown event types are allowed
  }
}

async function consumeProxyStream(requestBody) {
  setState('connecting');
  const response = await fetch('/v1/react/sessions', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(requestBody),
  });
  if (!response.ok) {
    let detail = response.statusText;
    try {
      detail = (await response.json()).detail;
    } catch (e) { /* not JSON: keep the status text */ }
    showError(`The gateway refused the request (${response.status}): ${detail}`);
    return;
  }
  $('session').textContent = response.headers.get('X-Session-Id') || '–';
  setState('waiting', 'waiting for a worker');

  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    const parts = buffer.split('\n\n');
    buffer = parts.pop();
    for (const part of parts) {
      if (part.startsWith('data: ')) handleStreamEvent(part.substring(6));
    }
  }
  if ($('state').dataset.state !== 'error' && $('state').dataset.state !== 'done') {
    showError('The stream ended before the answer was complete.');
  }
}

$('ask').addEventListener('submit', async (e) => {
  e.preventDefault();
  for (const id of ['thought-display', 'answer-display']) $(id).textContent = '';
  $('tool').textContent = '–';
  $('session').textContent = '–';
  $('error').hidden = true;
  $('send').disabled = true;
  try {
    await consumeProxyStream({ user_query: $('question').value, model_alias: 'smart_agent' });
  } catch (err) {
    showError('Connection failed: ' + err.message);
  } finally {
    $('send').disabled = false;
  }
});
