import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SETTINGS } from '../../src/runtime/settings.js';

const dockerfile = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8');
const dockerignore = readFileSync(new URL('../../.dockerignore', import.meta.url), 'utf8').split('\n').map((line) => line.trim());
const instructions = dockerfile
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line.length > 0 && !line.startsWith('#'));
const stages = instructions.join('\n').split(/^FROM /m).slice(1);

describe('Dockerfile', () => {
  it('builds on node:24-bookworm-slim (the current LTS) in two stages', () => {
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:24-bookworm-slim$/m);
    expect(stages).toHaveLength(2);
    expect(stages[0]).toMatch(/RUN npm ci\b/);
    expect(stages[0]).toMatch(/RUN npm run build\b/);
  });

  it('ships production dependencies only and the built dist/', () => {
    const final = stages[1]!;
    expect(final).toMatch(/npm ci --omit=dev --ignore-scripts/);
    expect(final).toMatch(/COPY --from=build \/app\/dist\/? dist\/?/);
    expect(final).not.toMatch(/COPY (src|test)\b/);
  });

  it('runs `node dist/cli.js run` as the node user, exposing the default HTTP port', () => {
    const final = stages[1]!.split('\n');
    expect(final).toContain('USER node');
    expect(final).toContain(`EXPOSE ${SETTINGS.httpPort.default}`);
    expect(final.at(-1)).toBe('CMD ["node", "dist/cli.js", "run"]');
    expect(dockerfile).not.toMatch(/^(CMD|ENTRYPOINT).*\bnpm\b/m);
  });

  it('keeps local state and build output out of the context', () => {
    for (const entry of ['node_modules', 'dist', '.git', '.pkgstream']) expect(dockerignore).toContain(entry);
  });
});
