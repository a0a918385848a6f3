import pg from 'pg';

/**
 * One round trip to the server on a connection of its own (not the pool's, which a busy
 * pipeline may hold): rejects when the server cannot be reached or does not answer within
 * `timeoutMs`.
 */
export async function probeDatabase(databaseUrl: string, timeoutMs: number): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs, application_name: 'pkgstream-probe' });
  // An idle error after the answer (the server going away) must not crash the process.
  client.on('error', () => undefined);
  let connected = false;
  try {
    await client.connect();
    connected = true;
    await client.query('SELECT 1');
  } finally {
    if (connected) await client.end().catch(() => undefined);
  }
}
