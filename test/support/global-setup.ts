/**
 * The CLI tests run the built `dist/cli.js` as a child process, as a user would: build it
 * once before the suite so `npm test` needs no prior build.
 */
import { execFileSync } from 'node:child_process';

export default function buildOnce(): void {
  // For a quick run of tests that do not spawn the CLI while dist/ is known fresh.
  if (process.env.PKGSTREAM_TEST_SKIP_BUILD === '1') return;
  execFileSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
}
