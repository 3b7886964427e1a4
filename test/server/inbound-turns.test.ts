/** InboundTurns: per-connection shares per event-loop turn, round-robin, in order, and reading paused past the backlog bounds. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InboundLane, InboundTurns } from '../../src/server/inbound-turns.ts';

const log: string[] = [];

class Lane extends InboundLane {
  readonly name: string;
  readonly got: string[] = [];
  pauses = 0;
  resumes = 0;
  constructor(name: string) {
    super();
    this.name = name;
  }
  deliver(data: Buffer, isBinary: boolean): void {
    const text = `${isBinary ? 'b:' : ''}${data.toString()}`;
    this.got.push(text);
    log.push(`${this.name}${text}`);
  }
  pauseReading(): void {
    this.pauses++;
  }
  resumeReading(): void {
    this.resumes++;
  }
}

const frame = (n: number) => Buffer.from(String(n));
const nextTurn = () => new Promise((r) => setImmediate(r));
async function settle(): Promise<void> {
  for (let i = 0; i < 50; i++) await nextTurn();
}

test('a flooding lane gets its share per turn; a neighbour that arrives later is served within the same turn', async () => {
  log.length = 0;
  const turns = new InboundTurns({ framesPerTurn: 4, backlogFrames: 1000, backlogBytes: 1 << 20 }, (e) => assert.fail(String(e)));
  const flood = new Lane('F');
  const calm = new Lane('C');
  for (let i = 0; i < 20; i++) turns.receive(flood, frame(i), false);
  turns.receive(calm, frame(0), false);
  assert.deepEqual(log, ['F0', 'F1', 'F2', 'F3', 'C0'], 'four of the flood at once, then the neighbour, the rest waits');
  await settle();
  assert.deepEqual(flood.got, Array.from({ length: 20 }, (_, i) => String(i)), 'every frame, in order');
  // Round-robin: a second lane's backlog interleaves with the first one's, a share at a time.
  log.length = 0;
  for (let i = 0; i < 12; i++) turns.receive(flood, frame(i), false);
  for (let i = 0; i < 12; i++) turns.receive(calm, frame(i), true);
  await settle();
  assert.deepEqual(log.map((l) => l[0]).join(''), 'FFFFCCCCFFFFCCCCFFFFCCCC');
  assert.equal(calm.got.at(-1), 'b:11', 'the binary flag travels with its frame');
});

test('a lane is paused past backlogFrames or backlogBytes and resumed once half of it is handled', async () => {
  const turns = new InboundTurns({ framesPerTurn: 2, backlogFrames: 10, backlogBytes: 1 << 20 }, (e) => assert.fail(String(e)));
  const lane = new Lane('L');
  for (let i = 0; i < 40; i++) turns.receive(lane, frame(i), false);
  assert.equal(lane.pauses, 1, 'paused once, when 11 frames waited');
  assert.equal(lane.resumes, 0);
  await settle();
  assert.equal(lane.resumes, 1);
  assert.equal(lane.got.length, 40);

  const bytes = new Lane('B');
  const byBytes = new InboundTurns({ framesPerTurn: 1, backlogFrames: 1000, backlogBytes: 100 }, (e) => assert.fail(String(e)));
  for (let i = 0; i < 3; i++) byBytes.receive(bytes, Buffer.alloc(60), false);
  assert.equal(bytes.pauses, 1, '120 bytes waiting > 100');
  await settle();
  assert.equal(bytes.resumes, 1);
});

test('an ended lane drops what waits; a throwing handler is reported and the rotation goes on', async () => {
  const errors: unknown[] = [];
  const turns = new InboundTurns({ framesPerTurn: 1, backlogFrames: 100, backlogBytes: 1 << 20 }, (e) => errors.push(e));
  const gone = new Lane('G');
  for (let i = 0; i < 5; i++) turns.receive(gone, frame(i), false);
  gone.end();
  turns.receive(gone, frame(9), false);
  const bad = new (class extends Lane {
    override deliver(data: Buffer, isBinary: boolean): void {
      super.deliver(data, isBinary);
      throw new Error('boom');
    }
  })('X');
  for (let i = 0; i < 3; i++) turns.receive(bad, frame(i), false);
  await settle();
  assert.deepEqual(gone.got, ['0']);
  assert.deepEqual(bad.got, ['0', '1', '2']);
  assert.equal(errors.length, 3);
});
