import assert from 'node:assert/strict';
import { createServer, connect, type Socket } from 'node:net';
import { test } from 'node:test';
import { BlackholeProxy } from './harness/blackhole-proxy.ts';
import { account, formatTable } from './harness/table.ts';

test('the black-hole proxy holds bytes without FIN or RST and delivers them on restore', async (t) => {
  const echo = createServer((s) => s.pipe(s));
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  const proxy = new BlackholeProxy((echo.address() as { port: number }).port);
  await proxy.listen();
  const sock: Socket = connect(proxy.port, '127.0.0.1');
  t.after(async () => {
    sock.destroy();
    await proxy.close();
    await new Promise((r) => echo.close(r));
  });
  let got: string = '';
  let ended = false;
  sock.on('data', (d) => (got += d.toString()));
  sock.on('end', () => (ended = true));
  sock.on('close', () => (ended = true));
  await new Promise((r) => sock.once('connect', r));
  sock.write('a');
  while ((got as string) !== 'a') await new Promise((r) => setTimeout(r, 5));
  proxy.blackhole();
  sock.write('b');
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(got, 'a', 'nothing crosses while black-holed');
  assert.equal(ended, false, 'no FIN or RST reaches the client');
  proxy.restore();
  const deadline = Date.now() + 2000;
  while ((got as string) !== 'ab' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  assert.equal(got, 'ab');
});

test('accounting counts duplicates, losses and order against 1..sent', () => {
  assert.deepEqual(account(5, [1, 2, 2, 4, 5]), { unique: 4, duplicates: 1, lost: 1, inOrder: false });
  assert.deepEqual(account(3, [1, 2, 3]), { unique: 3, duplicates: 0, lost: 0, inOrder: true });
  const table = formatTable([{ scenario: 'x', sent: 1, received: 1, duplicates: 0, lost: 0, recoverMs: 1234, note: '' }]);
  assert.match(table, /\| x +\| 1 +\| 1 +\| 0 +\| 0 +\| 1\.23 s/);
});
