import { readFileSync } from 'node:fs';

/** pkgstream's own version, from the package.json beside src/ and dist/. */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
