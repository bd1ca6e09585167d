// The demo page's client. It starts a session with the seed's fetch-based
// reader (same parsing: split on "\n\n", keep parts starting with "data: ")
// and survives the connection: when it drops, the page follows the session
// with EventSource from the last event it showed (DESIGN.md §7) — nothing
// lost, nothing shown twice. Stop cancels the worker and says whether it
// confirmed. "Cut connection" drops the connection on purpose, to see it.
'use strict';

const $ = (id) => document.getElementById(id);

// The session being shown: its id and token, the last event id shown, and
// whatever currently carries it (the POST's reader, or an EventSource).
let current = null;

function setState(state, text) {
  $('state').dataset.state = state;
  $('state').textContent = text || state;
}

function showError(message) {
  $('error').textContent = message;
  $('error').hidden = false;
  setState('error');
}

function clearView() {
  for (const id of ['thought-display', 'answer-display']) $(id).textContent = '';
  $('tool').textContent = '–';
}

// "<ms>-<seq>" ids order as Redis orders them.
function isNewer(id, last) {
  if (!last) return true;
  const [a, b] = id.split('-').map(BigInt);
  const [c, d] = last.split('-').map(BigInt);
  return a > c || (a === c && b > d);
}

// Shows one event; true once the session is over for this page.
function handleStreamEvent(s, jsonData) {
  let event;
  try {
    event = JSON.parse(jsonData);
  } catch (e) {
    console.error('Failed to parse JSON from stream:', jsonData);
    return false;
  }
  if (event.id) {
    if (!isNewer(event.id, s.lastId)) return false; // shown already
    s.lastId = event.id;
  }
  const payload = event.payload || {};
  switch (event.event_type) {
    case 'worker_ack':
      setState('streaming', 'streaming (worker acknowledged)');
      return false;
    case 'AgentThoughtStream':
      $('thought-display').textContent += payload.char;
      return false;
    case 'AgentToolCallStart':
      $('tool').textContent = payload.tool_name;
      return false;
    case 'FinalAnswerStream':
      $('answer-display').textContent += payload.char;
      return false;
    case 'reset': // the log no longer holds our place: show it afresh
      clearView();
      return false;
    case 'FinalAnswerStreamEnd':
      setState('done');
      return true;
    case 'cancelled':
      setState('cancelled', 'cancelled (the worker stopped)');
      return true;
    case 'error':
      if (payload.retryable) return false; // this connection ended; the session goes on
      showError('The stream ended with an error: ' + payload.error);
      return true;
    default:
      return false; // unknown event types are allowed
  }
}

function finish(s) {
  s.over = true;
  $('send').disabled = false;
  $('stop').disabled = true;
  $('cut').disabled = true;
}

// The connection dropped before the end: follow the session from the last
// event shown, with EventSource (which also reconnects by itself).
function resume(s) {
  if (s.over || current !== s) return;
  s.resumes += 1;
  $('resumes').textContent = String(s.resumes);
  setState('resuming', 'reconnecting…');
  const url = `/v1/react/sessions/${s.id}/events?token=${encodeURIComponent(s.token)}` +
              (s.lastId ? `&last_event_id=${s.lastId}` : '');
  const es = new EventSource(url);
  s.source = es;
  es.onopen = () => {
    if ($('state').dataset.state === 'resuming') setState('streaming', 'streaming (resumed)');
  };
  es.onmessage = (e) => {
    s.failures = 0;
    if (handleStreamEvent(s, e.data)) {
      es.close();
      finish(s);
    }
  };
  es.onerror = () => {
    // Reconnect at once from our own last id rather than after the browser's pause.
    es.close();
    if (s.over) return;
    s.failures = (s.failures || 0) + 1;
    if (s.failures > 40) {
      showError('The session cannot be reached any more.');
      finish(s);
      return;
    }
    setTimeout(() => resume(s), 250);
  };
}

async function startSession(requestBody) {
  setState('connecting');
  const s = { id: null, token: null, lastId: '', over: false, resumes: 0, source: null, abort: new AbortController() };
  current = s;
  const response = await fetch('/v1/react/sessions', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(requestBody),
    signal: s.abort.signal,
  });
  if (!response.ok) {
    let detail = response.statusText;
    try {
      detail = (await response.json()).detail;
    } catch (e) { /* not JSON: keep the status text */ }
    showError(`The gateway refused the request (${response.status}): ${detail}`);
    finish(s);
    return;
  }
  s.id = response.headers.get('X-Session-Id');
  s.token = response.headers.get('X-Session-Token');
  $('session').textContent = s.id || '–';
  $('stop').disabled = false;
  $('cut').disabled = false;
  setState('waiting', 'waiting for a worker');

  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    while (!s.over) {
      const { done, value } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      const parts = buffer.split('\n\n');
      buffer = parts.pop();
      for (const part of parts) {
        if (part.startsWith('data: ') && handleStreamEvent(s, part.substring(6))) finish(s);
      }
    }
  } catch (err) {
    console.log('The connection dropped: ' + err.message);
  }
  s.abort = null;
  if (!s.over) resume(s);
}

async function stop() {
  const s = current;
  if (!s || !s.id || s.over) return;
  $('stop').disabled = true;
  $('stop-result').textContent = 'stopping…';
  try {
    const r = await fetch(`/v1/react/sessions/${s.id}/cancel?wait=5`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${s.token}` },
    });
    const body = await r.json();
    $('stop-result').textContent =
      r.status === 200 ? 'stopped: the worker confirmed'
      : r.status === 202 ? 'stop requested: the worker has not confirmed yet'
      : `not stopped (${r.status}): ${body.detail}`;
  } catch (err) {
    $('stop-result').textContent = 'stop failed: ' + err.message;
  }
}

// Drops the connection on purpose, as a network would.
function cut() {
  const s = current;
  if (!s || s.over) return;
  if (s.abort) s.abort.abort();
  if (s.source) {
    s.source.close();
    setTimeout(() => resume(s), 250);
  }
}

$('ask').addEventListener('submit', async (e) => {
  e.preventDefault();
  clearView();
  $('session').textContent = '–';
  $('resumes').textContent = '0';
  $('stop-result').textContent = '';
  $('error').hidden = true;
  $('send').disabled = true;
  try {
    await startSession({ user_query: $('question').value, model_alias: 'smart_agent' });
  } catch (err) {
    if (current && current.id) {
      resume(current); // the POST dropped after the session started
    } else {
      showError('Connection failed: ' + err.message);
      if (current) finish(current);
    }
  }
});
$('stop').addEventListener('click', stop);
$('cut').addEventListener('click', cut);
