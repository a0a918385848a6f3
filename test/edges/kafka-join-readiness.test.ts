/**
 * `/readyz` while the Kafka consumer first joins its group (issue 12 item 31d): joining is
 * not a failure. A pod restarted after a kill rejoins a group that still lists its dead
 * member, so the join waits for that member's timeout; /readyz must be 200 meanwhile (it
 * says the consumer is joining), as it is through a Kafka outage. Its SIGTERM then logs no
 * error.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../faults/helpers.js';
import { CLI_TEST_TIMEOUT_MS } from '../support/cli.js';
import { createCliDatabase } from '../support/cli-database.js';
import { killLeftovers, startRunning, type RunningCli } from '../support/cli-service.js';
import { startKafkaBroker } from '../support/kafka-broker/index.js';

afterEach(killLeftovers);

const JOINED = 'Kafka consumer in its group';
const JOINING = 'Kafka consumer joining its group';

interface Sample {
  readonly status: number;
  readonly startup: string;
  readonly note: string | undefined;
}

async function sample(service: RunningCli): Promise<Sample> {
  const { status, body } = await service.readyz();
  return { status, startup: body.startup, note: body.pipelines.dispatch?.note };
}

describe('readiness while the Kafka consumer joins', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it('a restarted `run` rejoining behind its dead member: /readyz 200 while joining, then in its group', async () => {
    const broker = await startKafkaBroker();
    const database = await createCliDatabase();
    try {
      const env = { ...database.env, KAFKA_BROKERS: broker.brokers, PKGSTREAM_PIPELINES: 'dispatch', PKGSTREAM_HTTP_PORT: '0', LOG_LEVEL: 'info' };
      const first = startRunning(['run'], env);
      await until('the first consumer in its group', async () => (await sample(first)).note === JOINED, 90_000);
      first.child.kill('SIGKILL');
      await until('the first run gone', () => first.child.exitCode !== null || first.child.signalCode !== null, 10_000);

      const second = startRunning(['run'], env);
      await second.base();
      const samples: Sample[] = [];
      await until(
        'the second consumer in its group',
        async () => {
          const taken = await sample(second);
          samples.push(taken);
          return taken.note === JOINED;
        },
        120_000,
      );
      const joiningAfterStartup = samples.filter((s) => s.startup === 'done' && s.note === JOINING);
      console.info(`[edges/kafka-join] ${samples.length} /readyz samples, ${joiningAfterStartup.length} while joining after start-up: statuses ${[...new Set(joiningAfterStartup.map((s) => s.status))].join(', ')}`);
      expect(joiningAfterStartup.length).toBeGreaterThan(0);
      for (const taken of joiningAfterStartup) expect(taken.status).toBe(200);
      expect(samples.at(-1)?.status).toBe(200);
      expect(await second.terminate()).toEqual({ code: 0, signal: null });
      // A graceful stop of the consumer logs no error (12.31b: it once logged an EmptyError at level 50).
      expect(second.logs().filter((line) => Number(line.level) >= 50)).toEqual([]);
    } finally {
      await database.close();
      await broker.stop();
    }
  });
});
