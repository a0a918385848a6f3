/**
 * `npm run demo` as a newcomer runs it: within a minute a release published on the index
 * becomes a `package-released` event (read back with kcat from the demo's broker) and a
 * solver Job that completed (read with kubectl through the kubeconfig it printed); SIGTERM
 * stops everything it started and removes its data.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../faults/helpers.js';
import { CLI_TEST_TIMEOUT_MS } from './cli.js';
import { REPO_ROOT, run, runsWith } from './tools.js';

const children: ReturnType<typeof spawn>[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe.skipIf(!runsWith('kcat') || !runsWith('kubectl'))('npm run demo', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it('shows a published release become an event and a completed solver Job, and Ctrl-C stops everything it started', async () => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('npm_')));
    const child = spawn('npm', ['run', '--silent', 'demo', '--', '--interval', '2'], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const field = (pattern: RegExp) => pattern.exec(stdout)?.[1];

    // The first release the demo publishes, its event and its finished Job.
    let published: { project: string; version: string; job: string } | undefined;
    await until(`a published release with its finished solver Job\n${stdout}\n${stderr}`, () => {
      const release = /^published +(\S+) (\S+) on the index/m.exec(stdout);
      if (!release) return false;
      const [, project, version] = release as unknown as [string, string, string];
      const name = project.replace(/[._]/g, '-');
      const job = new RegExp(`^event +solver-finished ${name}==${version.replace(/\./g, '\\.')} succeeded Job (\\S+)`, 'm').exec(stdout)?.[1];
      if (job === undefined) return false;
      published = { project: name, version, job };
      return stdout.includes(`event        package-released ${name}==${version}`);
    }, 90_000);
    const { project, version, job } = published!;
    const kubeconfig = field(/kubectl --kubeconfig (\S+) get jobs/)!;
    const brokers = field(/kcat -b (\S+) -C/)!;
    const pid = Number(field(/pid (\d+) \(pkgstream run\)/));
    const dataDir = field(/service log +(\S+)\/pkgstream\.log/)!;

    const complete = run('kubectl', ['--kubeconfig', kubeconfig, 'get', 'job', job, '-n', 'default', '-o', 'jsonpath={.status.conditions[?(@.type=="Complete")].status}']);
    expect(complete.stdout, complete.stderr).toBe('True');
    const events = run('kcat', ['-b', brokers, '-C', '-t', 'pkgstream.package-released', '-e', '-q', '-f', '%s\\n']);
    const released = events.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as { package_name: string; package_version: string });
    expect(released.filter((event) => event.package_name === project && event.package_version === version)).toHaveLength(1);
    console.info(`[demo] ${project} ${version}: package-released once on Kafka (kcat), Job ${job} Complete=${complete.stdout} (kubectl)`);

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stdout).toMatch(/pkgstream demo: stopped \(pkgstream run exited 0\)/);
    expect(alive(pid)).toBe(false);
    expect(existsSync(dataDir)).toBe(false);
  });
});
