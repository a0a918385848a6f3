/**
 * pip against the index peer exactly as a user starts it (`npm run peers -- index --seed
 * FILE --projects N --versions M --log`): pip downloads the seeded and the generated
 * projects' files, its hash check passes on a hash-pinned requirement taken from the page
 * (wheel, and sdist with its metadata built offline), `pip install` of an sdist works,
 * `pip index versions` lists the generated history, and `--log` shows pip's requests.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPeerProcess, type PeerProcess } from '../support/peers-process.js';
import { pip as runPip } from '../support/pip.js';
import { runsWith } from '../support/tools.js';

const execFileAsync = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'pkgstream-pip-cli-'));
let peer: PeerProcess;
let simple: string;

interface ProjectPage {
  versions: string[];
  files: { filename: string; url: string; hashes: { sha256: string } }[];
}
interface RootListing {
  projects: { name: string }[];
}

/** pip (test/support/pip.ts) without its download cache: every file comes from the peer. */
const pipNoCache = (args: readonly string[]) => runPip(['--no-cache-dir', ...args]);

async function page(name: string): Promise<ProjectPage> {
  const response = await fetch(`${simple}${name}/`, { headers: { accept: 'application/vnd.pypi.simple.latest+json' } });
  expect(response.status).toBe(200);
  return (await response.json()) as ProjectPage;
}

const canonical = (name: string) => name.replace(/[-_.]+/g, '-').toLowerCase();
const sha256Of = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

beforeAll(async () => {
  const seed = join(dir, 'seed.json');
  writeFileSync(seed, JSON.stringify({ projects: [{ name: 'Demo_Pkg', summary: 'A demo', versions: ['1.0', '1.1'] }] }));
  peer = await startPeerProcess(['index', '--seed', seed, '--projects', '2', '--versions', '3', '--log']);
  simple = `${String(peer.address.url)}/simple/`;
}, 120_000);

afterAll(async () => {
  await peer?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!runsWith('pip'))('pip against npm run peers -- index', { timeout: 180_000 }, () => {
  it('downloads a seeded release; each file\'s bytes hash to the sha256 on the page, and --log shows pip\'s requests', async () => {
    const target = mkdtempSync(join(dir, 'dl-'));
    const result = await pipNoCache(['download', '--no-deps', '--index-url', simple, '-d', target, 'demo-pkg==1.1']);
    expect(result.stderr).not.toMatch(/ERROR/);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/Successfully downloaded demo-pkg/i);
    const listed = new Map((await page('demo-pkg')).files.map((f) => [f.filename, f.hashes.sha256]));
    const [file] = readdirSync(target);
    expect(file).toBe('demo_pkg-1.1-py3-none-any.whl');
    expect(sha256Of(join(target, file ?? ''))).toBe(listed.get(file ?? ''));
    expect(await peer.untilStderr(/^index: GET \/simple\/demo-pkg\/ 200$/)).toBeTruthy();
    expect(await peer.untilStderr(/^index: GET \/packages\/.+\/demo_pkg-1\.1-py3-none-any\.whl 200$/)).toBeTruthy();
    console.log(`pip: ${result.stdout.trim().split('\n').at(-1)}; ${file} sha256 ${listed.get(file ?? '')}`);
  });

  it('passes --require-hashes with the page\'s sha256 for a generated project\'s wheel and sdist (built offline), and refuses another digest', async () => {
    const { projects } = (await (await fetch(simple, { headers: { accept: 'application/vnd.pypi.simple.v1+json' } })).json()) as RootListing;
    const generated = projects.map((p) => p.name).find((name) => canonical(name) !== 'demo-pkg') ?? '';
    const { versions, files } = await page(canonical(generated));
    const version = versions.at(-1) ?? '';
    const download = async (kind: readonly string[], sha256: string) => {
      const requirements = join(mkdtempSync(join(dir, 'req-')), 'requirements.txt');
      writeFileSync(requirements, `${generated}==${version} --hash=sha256:${sha256}\n`);
      const target = mkdtempSync(join(dir, 'hashed-'));
      return { target, result: await pipNoCache(['download', '--no-deps', ...kind, '--require-hashes', '--index-url', simple, '-d', target, '-r', requirements]) };
    };
    for (const [kind, suffix] of [
      [['--only-binary', ':all:'], `-${version}-py3-none-any.whl`],
      // pip prepares an sdist's metadata in an isolated build environment: its in-tree backend needs nothing from an index.
      [['--no-binary', ':all:'], `-${version}.tar.gz`],
    ] as const) {
      const file = files.find((f) => f.filename.endsWith(suffix));
      expect(file, suffix).toBeDefined();
      const ok = await download(kind, file?.hashes.sha256 ?? '');
      expect(ok.result.stderr, suffix).not.toMatch(/ERROR/);
      expect(ok.result.status, suffix).toBe(0);
      expect(readdirSync(ok.target)).toEqual([file?.filename]);
      expect(sha256Of(join(ok.target, file?.filename ?? ''))).toBe(file?.hashes.sha256);
      console.log(`pip download ${kind.join(' ')} --require-hashes: ${generated}==${version} --hash=sha256:${file?.hashes.sha256} -> ${ok.result.stdout.trim().split('\n').at(-1)}`);
    }
    const refused = await download(['--only-binary', ':all:'], '0'.repeat(64));
    expect(refused.result.status).not.toBe(0);
    expect(refused.result.stderr).toMatch(/DO NOT MATCH THE HASHES/);
  });

  it('installs the seeded project from its sdist and from its wheel, and Python imports what was served', async () => {
    for (const kind of [['--no-binary', ':all:'], ['--only-binary', ':all:']]) {
      const target = mkdtempSync(join(dir, 'site-'));
      const installed = await pipNoCache(['install', '--no-deps', ...kind, '--index-url', simple, '--target', target, 'Demo_Pkg==1.1']);
      expect(installed.status, kind.join(' ')).toBe(0);
      expect(installed.stdout).toMatch(/Successfully installed demo[-_]pkg-1\.1/i);
      const { stdout } = await execFileAsync('python3', ['-c', 'import demo_pkg; print(demo_pkg.__version__, demo_pkg.__doc__)'], { env: { ...process.env, PYTHONPATH: target } });
      expect(stdout.trim()).toBe('1.1 A demo');
      console.log(`pip install ${kind.join(' ')} Demo_Pkg==1.1: ${installed.stdout.trim().split('\n').at(-1)}; import demo_pkg -> ${stdout.trim()}`);
    }
  });

  it('lists a generated project\'s versions with pip index versions', async () => {
    const { projects } = (await (await fetch(simple, { headers: { accept: 'application/vnd.pypi.simple.v1+json' } })).json()) as RootListing;
    const generated = projects.map((p) => p.name).find((name) => canonical(name) !== 'demo-pkg') ?? '';
    const result = await pipNoCache(['index', 'versions', '--index-url', simple, generated]);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/Available versions: 0\.1\.2, 0\.1\.1, 0\.1\.0\s*$/m);
    console.log(`pip index versions ${generated}: ${result.stdout.trim().split('\n').join(' | ')}`);
  });
});
