/** The external tools the deploy tests run, and whether they are installed (scripts/install-test-tools.sh). */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

function runs(command: string, args: readonly string[]): boolean {
  const result = spawnSync(command, args, { stdio: 'ignore', timeout: 30_000 });
  return result.status === 0;
}

export const hasPromtool = runs('promtool', ['--version']);
export const hasKubectl = runs('kubectl', ['version', '--client']);

/** Runs a tool in the repository root; its exit status and both outputs. */
export function run(command: string, args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(command, args, { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
