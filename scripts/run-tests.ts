/**
 * `npm test`: every test file under test/ through node's own runner. Checks Redis first: under CI an
 * unreachable Redis fails the run; elsewhere the Redis suites are skipped and this says so. The same for
 * `redis-server`/`redis-cli`, which the Redis Cluster suites need to start a local cluster.
 */
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { clusterUnavailable } from '../test/helpers/redis-cluster.ts';

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

function redisReachable(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const sock = connect({ host: hostname.replace(/^\[|\]$/g, ''), port: Number(port || 6379) });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(2000, () => done(false));
    sock.on('error', () => done(false));
    sock.on('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d) => done(d.toString().startsWith('+PONG') || d.toString().startsWith('-NOAUTH')));
  });
}

const env: NodeJS.ProcessEnv = { ...process.env, REDIS_URL: redisUrl };
if (!(await redisReachable(redisUrl))) {
  if (process.env.CI === 'true') {
    console.error(`Redis is not reachable at ${redisUrl}; CI needs it for the scale-out suites. Failing.`);
    process.exit(1);
  }
  env.TETHER_SKIP_REDIS = '1';
  console.warn(`Redis is not reachable at ${redisUrl}: the Redis broker and multi-node suites will be SKIPPED.`);
}

// The Redis Cluster suites start their own cluster; the test file itself fails under CI when they cannot.
const noCluster = clusterUnavailable();
if (noCluster) console.warn(`${noCluster}: the Redis Cluster suites will be ${process.env.CI === 'true' ? 'FAILED (CI=true)' : 'SKIPPED'}.`);

const patterns = process.argv.slice(2);
const args = [
  '--test',
  `--test-concurrency=${process.env.TEST_CONCURRENCY ?? 2}`,
  '--test-timeout=240000',
  ...(patterns.length ? patterns : ['test/**/*.test.ts']),
];
const child = spawn(process.execPath, args, { stdio: 'inherit', env, detached: true });
// The whole suite takes about 4 minutes here; a run still going after this long is stuck, and says so.
const limitMin = Number(process.env.TEST_RUN_LIMIT_MIN ?? 20);
if (!(limitMin > 0)) {
  console.error(`npm test: TEST_RUN_LIMIT_MIN must be a positive number of minutes, not ${JSON.stringify(process.env.TEST_RUN_LIMIT_MIN)}`);
  process.exit(2);
}
function stopAll(): void {
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
}
const watchdog = setTimeout(() => {
  console.error(`npm test: still running after ${limitMin} minutes; stopping every test process (TEST_RUN_LIMIT_MIN sets the limit).`);
  stopAll();
}, limitMin * 60_000);
// The test processes run in a group of their own (so the watchdog can stop all of them): pass Ctrl-C on.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    stopAll();
    // The shell's convention: 128 + the signal's number.
    process.exit(signal === 'SIGINT' ? 130 : 143);
  });
}
watchdog.unref();
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
