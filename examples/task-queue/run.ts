/** `node examples/task-queue/run.ts`: the whole example in one command (Redis from REDIS_URL, default local). */
import { startExample } from './example.ts';

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
try {
  const example = await startExample({ redisUrl, port: Number(process.env.PORT ?? 4000), jobs: Number(process.env.JOBS ?? 20) });
  process.stdout.write(`task-queue example: open ${example.url} (Ctrl-C stops)\n`);
  process.once('SIGINT', () => void example.stop().then(() => process.exit(0)));
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(2);
}
