/**
 * The third-party clients the suite drives its peers and artifacts with (installed by
 * scripts/install-test-tools.sh), and whether a test that needs one runs.
 *
 * In CI (`CI` set) every such test runs: a missing tool makes it fail, never skip. On a
 * developer's machine a missing tool skips the test, so a partial setup still runs the rest.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

const PROBES = {
  promtool: ['promtool', ['--version']],
  prometheus: ['prometheus', ['--version']],
  kubectl: ['kubectl', ['version', '--client']],
  kcat: ['kcat', ['-V']],
  pip: ['python3', ['-m', 'pip', '--version']],
  chromium: ['chromium', ['--version']],
} as const satisfies Record<string, readonly [string, readonly string[]]>;

export type Tool = keyof typeof PROBES;

export function isInstalled(tool: Tool): boolean {
  const [command, args] = PROBES[tool];
  return spawnSync(command, args, { stdio: 'ignore', timeout: 30_000 }).status === 0;
}

/** Whether a test that needs `tool` runs: always in CI, else only when it is installed. */
export function runsWith(tool: Tool): boolean {
  return Boolean(process.env.CI) || isInstalled(tool);
}

/** Runs a tool in the repository root; its exit status and both outputs. */
export function run(
  command: string,
  args: readonly string[],
  options: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(command, args, {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 60_000,
    ...(options.input === undefined ? {} : { input: options.input }),
    ...(options.env === undefined ? {} : { env: options.env }),
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
