# syntax=docker/dockerfile:1
# pkgstream image: build the TypeScript in one stage, ship dist/ and production deps only.
#   docker build -t pkgstream .
#   docker run --rm -p 9464:9464 pkgstream            # embedded defaults (PGlite, stdout events)
# No init process (tini, --init) is needed: pkgstream is PID 1 and handles SIGTERM/SIGINT itself
# (readiness 503, drain within PKGSTREAM_SHUTDOWN_GRACE, exit 0). Start it with `node` directly,
# never through npm, which does not pass signals on.

ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Dependencies first, so the layer is reused while only sources change. `prepare` (the build)
# needs the sources, so scripts are skipped here and the build runs explicitly below.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/copy-assets.mjs scripts/
COPY src/ src/
# dist/ holds the JS and, copied beside it, dist/db/migrations and dist/sinks/templates.
RUN npm run build

FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    PKGSTREAM_DATA_DIR=/var/lib/pkgstream
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only; --ignore-scripts because `prepare` would try to build.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force \
 && mkdir -p /var/lib/pkgstream \
 && chown node:node /var/lib/pkgstream
COPY --from=build /app/dist/ dist/
# The `node` user of the base image: uid/gid 1000, as deploy/base's securityContext expects.
USER node
EXPOSE 9464
CMD ["node", "dist/cli.js", "run"]
