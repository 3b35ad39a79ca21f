/** Lints the repository's Dockerfile and .dockerignore (no Docker engine here), and shows with bad Dockerfiles that the lint can fail. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dockerignoreMatcher, lintDockerfile } from './dockerfile-lint.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const DOCKERFILE = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const DOCKERIGNORE = readFileSync(join(ROOT, '.dockerignore'), 'utf8');

/** A minimal Dockerfile that passes; each negative case breaks one rule of it. */
const GOOD = `FROM node:20.20.2-bookworm-slim AS deps
WORKDIR /src
COPY package.json package-lock.json ./
COPY shared/package.json shared/
COPY server/package.json server/
COPY web/package.json web/
RUN npm ci
FROM deps AS build
COPY shared/ shared/
COPY server/ server/
COPY web/ web/
RUN npm run build && scripts/release-build.sh /release
FROM node:20.20.2-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends conntrack iptables nftables ipvsadm iproute2 && rm -rf /var/lib/apt/lists/*
COPY --from=build /release/ /app/
EXPOSE 7474
HEALTHCHECK CMD ["node", "-e", "fetch('http://127.0.0.1:7474/healthz')"]
ENTRYPOINT ["node", "/app/server/dist/cli.js"]
CMD ["serve"]
`;

describe('the Dockerfile', () => {
  it('passes the lint, and every COPY source is in the build context', () => {
    expect(lintDockerfile(DOCKERFILE, { contextDir: ROOT, dockerignore: DOCKERIGNORE })).toEqual([]);
  });

  it('runs the same release script as the smoke test', () => {
    expect(DOCKERFILE).toMatch(/RUN[^\n]*\n?[^\n]*scripts\/release-build\.sh \/release/);
    expect(DOCKERFILE).toMatch(/COPY --from=build \/release\/ \/app\//);
  });

  it('the reference Dockerfile of these tests passes too', () => {
    expect(lintDockerfile(GOOD)).toEqual([]);
  });
});

describe('the Dockerfile lint fails', () => {
  const cases: [string, string, RegExp][] = [
    [
      'an unpinned base',
      GOOD.replace('FROM node:20.20.2-bookworm-slim\n', 'FROM node\n'),
      /FROM node: no tag/,
    ],
    [
      'a latest base',
      GOOD.replace('FROM node:20.20.2-bookworm-slim\n', 'FROM node:latest\n'),
      /not an exact version/,
    ],
    [
      'a major-only tag',
      GOOD.replace('FROM node:20.20.2-bookworm-slim AS deps', 'FROM node:20-slim AS deps'),
      /node:20-slim: not an exact version/,
    ],
    [
      'an image from a build argument',
      `ARG BASE=node:20.20.2-bookworm-slim\n${GOOD.replace('FROM node:20.20.2-bookworm-slim AS deps', 'FROM $BASE AS deps')}`,
      /use a literal, pinned image/,
    ],
    [
      'a single stage',
      GOOD.split('FROM node:20.20.2-bookworm-slim\n')[1] ?? '',
      /multi-stage build expected, found 0/,
    ],
    [
      'sources copied before npm ci',
      GOOD.replace('COPY web/package.json web/\n', 'COPY web/package.json web/\nCOPY server/ server/\n'),
      /COPY server\/ comes before npm ci/,
    ],
    [
      'a missing workspace manifest',
      GOOD.replace('COPY web/package.json web/\n', ''),
      /web\/package\.json is not copied before npm ci/,
    ],
    ['no build', GOOD.replace('npm run build && ', ''), /no RUN npm run build/],
    ['apt with recommends', GOOD.replace(' --no-install-recommends', ''), /without --no-install-recommends/],
    ['a missing tool', GOOD.replace(' ipvsadm', ''), /does not install ipvsadm/],
    ['apt lists kept', GOOD.replace(' && rm -rf /var/lib/apt/lists/*', ''), /apt lists are not removed/],
    ['no health check', GOOD.replace(/HEALTHCHECK[^\n]*\n/, ''), /no HEALTHCHECK/],
    [
      'a health check elsewhere',
      GOOD.replace('/healthz', '/metrics'),
      /HEALTHCHECK does not request \/healthz/,
    ],
    ['no EXPOSE', GOOD.replace('EXPOSE 7474\n', 'EXPOSE 8080\n'), /EXPOSE 7474 is missing/],
    ['a shell-form CMD', GOOD.replace('CMD ["serve"]', 'CMD serve'), /CMD is in shell form/],
    [
      'a shell-form ENTRYPOINT',
      GOOD.replace(
        'ENTRYPOINT ["node", "/app/server/dist/cli.js"]',
        'ENTRYPOINT node /app/server/dist/cli.js',
      ),
      /ENTRYPOINT is in shell form/,
    ],
    ['not serve', GOOD.replace('CMD ["serve"]', 'CMD ["replay", "/data"]'), /does not start ctscope serve/],
    [
      'a runtime on the build stage',
      GOOD.replace('FROM node:20.20.2-bookworm-slim\n', 'FROM build\n'),
      /builds on stage build/,
    ],
    [
      'dev dependencies in the runtime',
      GOOD.replace('EXPOSE 7474\n', 'RUN npm ci\nEXPOSE 7474\n'),
      /runtime stage installs dev dependencies/,
    ],
  ];
  it.each(cases)('on %s', (_name, text, problem) => {
    const problems = lintDockerfile(text);
    expect(
      problems.some((p) => problem.test(p)),
      problems.join('\n'),
    ).toBe(true);
  });

  it('on a COPY of something .dockerignore excludes or that does not exist', () => {
    const text = GOOD.replace(
      'COPY shared/ shared/\n',
      'COPY shared/ shared/\nCOPY server/test/ t/\nCOPY nope.txt .\n',
    );
    const problems = lintDockerfile(text, { contextDir: ROOT, dockerignore: DOCKERIGNORE });
    expect(problems).toContain('COPY server/test/: excluded by .dockerignore');
    expect(problems).toContain('COPY nope.txt: not in the build context');
  });
});

describe('.dockerignore', () => {
  const ignored = dockerignoreMatcher(DOCKERIGNORE);
  it('keeps what the build needs', () => {
    for (const p of [
      'package.json',
      'package-lock.json',
      'tsconfig.base.json',
      'server/src/cli.ts',
      'server/tsconfig.json',
      'web/index.html',
      'web/vite.config.ts',
      'web/src',
      'shared/src',
      'scripts/release-build.sh',
      'deploy/image/ctscope',
    ])
      expect(ignored(p), p).toBe(false);
  });
  it('drops installs, builds, tests and the repository', () => {
    for (const p of [
      'node_modules',
      'server/node_modules/x',
      'web/dist/index.html',
      'server/test/x.ts',
      '.git',
      'README.md',
    ])
      expect(ignored(p), p).toBe(true);
  });
  it('the matcher handles exceptions', () => {
    const m = dockerignoreMatcher('docs\n!docs/keep.md\n');
    expect(m('docs/a.md')).toBe(true);
    expect(m('docs/keep.md')).toBe(false);
  });
});
