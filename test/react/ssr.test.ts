/** On a server, the provider and hooks render their initial values and open nothing. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createElement } from 'react';
import { renderToString } from 'react-dom/server';
import { Socket } from '../../src/client/index.ts';
import { TetherProvider, useChannel, usePresence, useSocketState } from '../../src/react/index.ts';

function Room() {
  const connection = useSocketState();
  const { channel, state } = useChannel('room:ssr');
  const people = usePresence(channel);
  return createElement('p', null, `${connection}/${state}/${people.length}/${channel === null}`);
}

test('renderToString: idle, closed, no presence, no channel, and the socket never connects', () => {
  const socket = new Socket('ws://127.0.0.1:9/socket');
  const html = renderToString(createElement(TetherProvider, { socket }, createElement(Room)));
  assert.equal(html, '<p>idle/closed/0/true</p>');
  assert.equal(socket.state, 'idle');
  assert.throws(() => renderToString(createElement(Room)), /must be used inside <TetherProvider>/);
});
