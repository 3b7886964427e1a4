/** useTask / useQueue: what a task event does to the state shown, and their initial render. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createElement } from 'react';
import { renderToString } from 'react-dom/server';
import { Socket } from '../../src/client/index.ts';
import { TetherProvider, useQueue, useTask } from '../../src/react/index.ts';
import { applyTaskEvent } from '../../src/react/tasks.ts';
import type { TaskUpdate } from '../../src/tasks/index.ts';

const update = (over: Partial<TaskUpdate>): TaskUpdate => ({ task_id: 't1', queue: 'q', status: 'active', ...over });

test('a snapshot replaces what is shown; an unknown task clears it', () => {
  const shown = update({ progress: 10, timestamp: 5 });
  assert.deepEqual(applyTaskEvent(shown, 'snapshot', { ...update({ status: 'progress', progress: 70 }), timestamp: 9 }), update({ status: 'progress', progress: 70, timestamp: 9 }));
  assert.equal(applyTaskEvent(shown, 'snapshot', { task_id: 't1', queue: 'q', status: 'unknown' }), null);
});

test('updates merge over what is shown, and a delayed older update does not undo a newer state', () => {
  let shown = applyTaskEvent(null, 'task_created', update({ status: 'created', timestamp: 1, message: 'queued' }));
  shown = applyTaskEvent(shown, 'task_updated', update({ status: 'progress', progress: 40, timestamp: 3 }));
  assert.deepEqual(shown, update({ status: 'progress', progress: 40, timestamp: 3, message: 'queued' }));
  shown = applyTaskEvent(shown, 'task_completed', update({ status: 'completed', progress: 100, timestamp: 7 }));
  assert.equal(applyTaskEvent(shown, 'task_updated', update({ status: 'progress', progress: 60, timestamp: 4 })), shown, 'the older progress is ignored');
  assert.equal(shown?.status, 'completed');
  assert.equal(shown?.progress, 100);
});

test('on a server, useTask and useQueue render nothing known yet and open no connection', () => {
  function Watch() {
    const { task, state } = useTask('emails', '42');
    const { status } = useQueue('emails');
    return createElement('p', null, `${task === null}/${status === null}/${state}`);
  }
  const socket = new Socket('ws://127.0.0.1:9/socket');
  assert.equal(renderToString(createElement(TetherProvider, { socket }, createElement(Watch))), '<p>true/true/closed</p>');
  assert.equal(socket.state, 'idle');
});
