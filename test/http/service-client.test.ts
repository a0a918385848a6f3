import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordAttention } from '../../src/db/attention.js';
import { createServiceClient, ServiceError } from '../../src/commands/service-client.js';
import { ADMIN_TOKEN, startTestService, type TestService } from './support/service.js';

let service: TestService;
beforeAll(async () => {
  service = await startTestService();
  service.index.addRelease('omega', '3.0');
  await service.database.pool.query("INSERT INTO package_project (index_id, project) SELECT id, 'omega' FROM package_index WHERE simple_url = $1", [service.simpleUrl]);
}, 60_000);
afterAll(async () => service?.stop());

describe('service client against a running service', () => {
  it('checks, lists, shows, reads events and works the attention queue through /api/v1', async () => {
    const client = createServiceClient(service.base, ADMIN_TOKEN);
    const dry = await client.check('omega', { dryRun: true });
    expect(dry.events).toEqual([expect.objectContaining({ kind: 'package-released', version: '3.0' })]);
    await client.check('omega', {});
    expect((await client.listProjects({ q: 'OME' })).items.map((item) => item.project)).toEqual(['omega']);
    expect(await client.addProject('New_One', service.simpleUrl)).toEqual({ project: 'new-one', index: service.simpleUrl, added: true });
    expect(await client.addProject('new-one', service.simpleUrl)).toMatchObject({ added: false });
    await expect(client.addProject('x', 'http://127.0.0.1:9/simple')).rejects.toMatchObject({ status: 404, code: 'index_not_found' });
    expect((await client.listIndexes()).items.map((index) => index.simpleUrl)).toContain(service.simpleUrl);
    expect((await client.showProject('omega')).releases.map((release) => release.version)).toEqual(['3.0']);
    expect((await client.listEvents({ project: 'omega' })).items.map((event) => event.kind)).toEqual(['package-released']);
    const item = await recordAttention(service.database.pool, { pipeline: 'update', itemKey: `${service.simpleUrl}|omega`, errorCode: 'X', errorMessage: 'x', attempts: 1 });
    expect((await client.listAttention({})).items.map((open) => open.id)).toEqual([item.id]);
    expect(await client.retryAttention(item.id)).toMatchObject({ id: item.id, resolved: true });
    await expect(client.resolveAttention(item.id)).rejects.toMatchObject({ status: 404, code: 'attention_not_found' });
  });

  it('raises the API error as a ServiceError with its code and message', async () => {
    const anonymous = createServiceClient(service.base);
    const error = await anonymous.resolveAttention(1).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ServiceError);
    expect(error).toMatchObject({ status: 401, code: 'unauthorized' });
  });
});
