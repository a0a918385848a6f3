/**
 * The local package index, driven by pip (a client nobody here wrote) and by the project's
 * own index client, on the same content: pip downloads real files and checks their sha256
 * against what the pages say, lists versions as it does on PyPI, and refuses bytes that no
 * longer match; our client reads the same digests, with an ETag and then a 304.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIndexClient, type UndiciIndexClient } from '../../src/sources/index-client/index.js';
import { startIndexServer, type IndexServer } from '../support/index-server/index.js';
import { pip } from '../support/pip.js';
import { runsWith } from '../support/tools.js';

let index: IndexServer;
let client: UndiciIndexClient;
const folders: string[] = [];

function folder(): string {
  const path = mkdtempSync(join(tmpdir(), 'pkgstream-pip-'));
  folders.push(path);
  return path;
}

const sha256Of = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

beforeAll(async () => {
  index = await startIndexServer();
  index.addRelease('Foo.Bar_baz', '1.0');
  index.addRelease('Foo.Bar_baz', '1.1');
  index.yank('Foo.Bar_baz', '1.1', 'broken build');
  index.addRelease('plain', '2.0');
  index.addRelease('plain', '2.1');
  index.addRelease('changed', '1.0');
  client = createIndexClient({ version: 'conformance', headersTimeoutMs: 10_000, bodyTimeoutMs: 10_000, requestTimeoutMs: 30_000 });
});

afterAll(async () => {
  await client?.close();
  await index?.stop();
  for (const path of folders) rmSync(path, { recursive: true, force: true });
});

describe.skipIf(!runsWith('pip'))('pip against the local index', { timeout: 180_000 }, () => {
  it('downloads a dotted, underscored, mixed-case project and the bytes hash to what the page says', async () => {
    const dir = folder();
    const result = await pip(['download', '--no-deps', '--no-cache-dir', '--index-url', `${index.url}/simple`, '-d', dir, 'foo-bar-baz==1.0']);
    expect(result.stderr).not.toMatch(/ERROR/);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/Successfully downloaded/);
    const [file] = readdirSync(dir);
    expect(file).toBeDefined();
    const served = (index.model.release('Foo.Bar_baz', '1.0')?.files ?? []).find((f) => f.filename === file);
    expect(served?.sha256).toBe(sha256Of(readFileSync(join(dir, file ?? ''))));
  });

  it('accepts the right --hash under --require-hashes and refuses a wrong one', async () => {
    const wheel = (index.model.release('plain', '2.0')?.files ?? []).find((f) => f.filename.endsWith('.whl'));
    expect(wheel).toBeDefined();
    const good = join(folder(), 'requirements.txt');
    writeFileSync(good, `plain==2.0 --hash=sha256:${wheel?.sha256}\n`);
    const ok = await pip(['download', '--no-deps', '--no-cache-dir', '--only-binary', ':all:', '--require-hashes', '--index-url', `${index.url}/simple`, '-d', folder(), '-r', good]);
    expect(ok.status).toBe(0);
    const bad = join(folder(), 'requirements.txt');
    writeFileSync(bad, `plain==2.0 --hash=sha256:${'0'.repeat(64)}\n`);
    const refused = await pip(['download', '--no-deps', '--no-cache-dir', '--only-binary', ':all:', '--require-hashes', '--index-url', `${index.url}/simple`, '-d', folder(), '-r', bad]);
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toMatch(/DO NOT MATCH THE HASHES/);
  });

  it('fails its hash check when a file\'s bytes change behind the page', async () => {
    const wheel = (index.model.release('changed', '1.0')?.files ?? []).find((f) => f.filename.endsWith('.whl'));
    index.setContent('changed', '1.0', wheel?.filename ?? '', Buffer.from('not the wheel that was announced'));
    const result = await pip(['download', '--no-deps', '--no-cache-dir', '--only-binary', ':all:', '--index-url', `${index.url}/simple`, '-d', folder(), 'changed==1.0']);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/HASHES|hash/i);
  });

  it('lists the versions as pip index versions does on PyPI (yanked left out)', async () => {
    const listed = await pip(['index', 'versions', '--index-url', `${index.url}/simple`, 'plain']);
    expect(listed.status).toBe(0);
    expect(listed.stdout).toMatch(/Available versions: 2\.1, 2\.0/);
    const dotted = await pip(['index', 'versions', '--index-url', `${index.url}/simple`, 'foo_bar.baz']);
    expect(dotted.status).toBe(0);
    expect(dotted.stdout).toMatch(/Available versions: 1\.0\s*$/m);
  });
});

describe('the project\'s own index client against the same content', () => {
  it('reads the digests pip verified, then asks again with the ETag and is told nothing changed', async () => {
    const page = await client.fetchProject(index.packageIndex(), 'plain');
    expect(page).not.toBeNull();
    const files = page?.releases.flatMap((release) => release.files) ?? [];
    const served = ['2.0', '2.1'].flatMap((version) => index.model.release('plain', version)?.files ?? []);
    expect(files.map((f) => [f.filename, f.sha256]).sort()).toEqual(served.map((f) => [f.filename, sha256Of(f.content)]).sort());
    const again = await client.fetchProject(index.packageIndex(), 'plain', page?.validators);
    // null: not modified (a 404 would also be null, so the request itself is checked).
    expect(again).toBeNull();
    const asked = index.requests.filter((request) => request.path.startsWith('/simple/plain/') && !String(request.headers['user-agent']).startsWith('pip/'));
    expect(asked).toHaveLength(2);
    expect(asked[1]?.headers['if-none-match']).toBe(page?.validators.etag);
  });
});
