/** The browser side: one progress bar per task of the queue, the queue's counters, notifications. */
import { Socket } from '../../src/client/index.ts';
import { watchQueue, watchQueueStatus, watchSystem, type QueueStatus, type TaskUpdate } from '../../src/tasks/index.ts';

declare global {
  interface Window {
    /** Read by the browser test: each task's last state as shown. */
    taskView: Record<string, { status: string; progress: number }>;
  }
}

const queue = document.body.dataset.queue!;
const socket = new Socket('/socket', { params: { token: document.body.dataset.token ?? '' } });
const rows = new Map<string, HTMLElement>();
window.taskView = Object.create(null) as Window['taskView'];

function show(task: TaskUpdate): void {
  let row = rows.get(task.task_id);
  if (!row) {
    row = document.createElement('li');
    row.innerHTML = '<span class="id"></span> <progress max="100" value="0"></progress> <span class="status"></span>';
    row.querySelector('.id')!.textContent = task.task_id;
    document.getElementById('tasks')!.prepend(row);
    rows.set(task.task_id, row);
  }
  const previous = window.taskView[task.task_id];
  const progress = task.progress ?? previous?.progress ?? 0;
  window.taskView[task.task_id] = { status: task.status, progress };
  row.querySelector('progress')!.value = progress;
  row.querySelector('.status')!.textContent = `${task.status}${task.message ? `: ${task.message}` : ''}`;
  row.className = task.status;
}

function counters(s: QueueStatus): void {
  document.getElementById('counters')!.textContent = `${s.total_tasks} total · ${s.pending_tasks} pending · ${s.running_tasks} running · ${s.completed_tasks} completed · ${s.failed_tasks} failed`;
}

const tasks = watchQueue(socket, queue);
for (const event of ['task_created', 'task_updated', 'task_completed', 'task_failed'] as const) tasks.on(event, show);
tasks.on('queue_status_changed', counters);
watchQueueStatus(socket, queue).on('snapshot', counters);
watchSystem(socket).on('system_notification', (n) => {
  const li = document.createElement('li');
  li.textContent = `${n.title}: ${n.message}`;
  document.getElementById('notes')!.prepend(li);
});
socket.on('state', (t) => (document.getElementById('link')!.textContent = t.to));
socket.connect();
