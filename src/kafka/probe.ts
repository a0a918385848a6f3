/**
 * Is the Kafka cluster reachable? One metadata request per check on an admin connection,
 * without kafkajs's own retries (the caller checks again on its interval); a failed check
 * drops the connection so that the next one starts afresh.
 */
import type { Admin } from 'kafkajs';
import { createKafkaClient, describeConnectError, type KafkaClientOptions } from './client.js';

export interface KafkaProbe {
  check(): Promise<void>;
  close(): Promise<void>;
}

export function createKafkaProbe(connection: KafkaClientOptions): KafkaProbe {
  let admin: Admin | null = null;
  const drop = async () => {
    const current = admin;
    admin = null;
    await current?.disconnect().catch(() => undefined);
  };
  return {
    async check() {
      admin ??= createKafkaClient({ ...connection, retries: 0 }).admin();
      try {
        await admin.connect();
        await admin.describeCluster();
      } catch (error) {
        await drop();
        throw describeConnectError(error, connection);
      }
    },
    close: drop,
  };
}
