/** Running the real pip (python3 -m pip) in the conformance tests. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/**
 * pip with none of this machine's pip configuration (extra indexes, find-links, constraints),
 * run asynchronously so that an index in this process answers it; its exit status and outputs.
 */
export async function pip(args: readonly string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('PIP_')));
  try {
    const { stdout, stderr } = await execFileAsync('python3', ['-m', 'pip', '--disable-pip-version-check', '--no-input', ...args], {
      env: { ...env, PIP_CONFIG_FILE: '/dev/null', PYTHONWARNINGS: 'ignore' },
      timeout: 120_000,
    });
    return { status: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { status: typeof failed.code === 'number' ? failed.code : -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}
