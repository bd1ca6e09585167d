// Verbatim from shared/seeds/000_af5a3824f69b2058.txt, section 4.1 (the seed's
// JavaScript client). Do not edit: the browser test proves it works unchanged.
// Function to handle the event stream from the proxy
async function consumeProxyStream(requestBody) {
  try {
    const response = await fetch('/v1/react/sessions', {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
      },
      body: JSON.stringify(requestBody),
    });

    if (!response.ok) {
      // Handle errors if the request fails (e.g., 4xx, 5xx)
      const errorData = await response.json();
      console.error('Error starting stream:', errorData.detail);
      // Here you can update the UI to show an error
      return;
    }

    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';

    while (true) {
      const { done, value } = await reader.read();
      if (done) {
        console.log('Stream finished.');
        break;
      }

      // Decode the received chunk and add it to the buffer
      buffer += decoder.decode(value, { stream: true });

      // SSE messages are separated by a double newline
      const parts = buffer.split('\n\n');
      buffer = parts.pop(); // The last part might be incomplete, leave it in the buffer

      for (const part of parts) {
        if (part.startsWith('data: ')) {
          const jsonData = part.substring(6);
          handleStreamEvent(jsonData);
        }
      }
    }
  } catch (error) {
    console.error('An error occurred while consuming the stream:', error);
  }
}

// Dispatcher function to handle different event types
function handleStreamEvent(jsonData) {
  try {
    const event = JSON.parse(jsonData);
    const eventType = event.event_type;
    const payload = event.payload;

    // Use a switch to handle different events from the backend
    switch (eventType) {
      case 'worker_ack':
        console.log('Backend worker has acknowledged the session.');
        break;
      case 'AgentThoughtStream':
        // Append a character to the agent's thoughts in the UI
        document.getElementById('thought-display').textContent += payload.char;
        break;
      case 'AgentToolCallStart':
        console.log(`Agent is calling tool: ${payload.tool_name}`);
        break;
      case 'FinalAnswerStream':
        // Append a character to the final answer in the UI
        document.getElementById('answer-display').textContent += payload.char;
        break;
      case 'FinalAnswerStreamEnd':
        console.log('Final answer received. Closing connection.');
        // Here you can enable buttons, hide a loader, etc.
        break;
      case 'error':
        console.error('An error event was received:', payload.error);
        break;
      default:
        // Unknown event type
        break;
    }
  } catch (e) {
    console.error('Failed to parse JSON from stream:', jsonData);
  }
}

// Example call
const userRequest = {
  user_query: "What is the capital of France and what is the weather there right now?",
  model_alias: "smart_agent",
  // ... other parameters
};

consumeProxyStream(userRequest);
