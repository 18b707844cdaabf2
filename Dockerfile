# Container image of Portcullis: compiles the TypeScript in a build stage and ships only the compiled code,
# the production dependencies and the example config, running as the unprivileged `node` user.
#
#   docker build -t portcullis .
#   docker run -p 8080:8080 portcullis                                   # example config, demo backend
#   docker run -p 8080:8080 -v "$PWD/my.yaml:/etc/portcullis/config.yaml:ro" portcullis

# One base for every stage, so the compiled code and node_modules match the runtime's Node and libc.
# Pin a digest here (node:20-bookworm-slim@sha256:...) for reproducible releases.
ARG NODE_IMAGE=node:20-bookworm-slim

# --- build: compile src/ to dist/ ------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would run tsc now, before the sources are copied; keeping this layer free of
# src/ also lets it stay cached until the lockfile changes. No dependency needs its install script to compile.
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# --- deps: production node_modules only -------------------------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
# better-sqlite3 (the sqlite store) is a native addon: its install script fetches a prebuilt binary for this
# Node and libc, or compiles one, which needs these tools. They stay in this stage; only node_modules leaves it.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# A fresh install rather than pruning the build stage's tree: nothing from the dev tools can linger. Install
# scripts are skipped (and `prepare` with them), then run for the one dependency that needs its own: the addon.
RUN npm ci --omit=dev --ignore-scripts && npm rebuild better-sqlite3 && npm cache clean --force

# --- runtime ----------------------------------------------------------------------------------------------
# Slim rather than distroless: distroless has no `node` user (its non-root user is 65532) and no package
# manager for tini, and slim keeps a shell for debugging an incident. The size difference is small next to
# Node itself.
FROM ${NODE_IMAGE}

# tini as PID 1 rather than relying on `docker run --init`: Kubernetes and most orchestrators have no --init.
# As PID 1, node would get no default signal actions, so a SIGTERM arriving before the CLI installs its
# handlers would be ignored until the runtime's kill timeout; tini forwards signals to node and reaps zombies.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*

# MALLOC_MMAP_THRESHOLD_: scrypt's 16 MiB blocks are mmapped and returned after each password check instead of
# staying in every libuv thread's arena (64 MiB per process otherwise; see workerAllocatorEnv in src/cli/cluster.ts).
ENV NODE_ENV=production \
    MALLOC_MMAP_THRESHOLD_=4194304 \
    PORTCULLIS_CONFIG=/etc/portcullis/config.yaml \
    PORTCULLIS_DATA_DIR=/var/lib/portcullis

WORKDIR /app
# Everything stays owned by root, so the `node` user can read but never change its own code or config. The only
# file the proxy writes is the sqlite store's database (the example config's store), in PORTCULLIS_DATA_DIR: a
# volume owned by the `node` user, so the container can still run with a read-only root filesystem.
# package.json is needed at runtime: its "type": "module" makes Node load dist/ as ES modules.
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY config ./config
# The example config is the default so the image runs on its own; mount a file over it in production.
COPY config/example.yaml /etc/portcullis/config.yaml
RUN mkdir -p /var/lib/portcullis && chown 1000:1000 /var/lib/portcullis
VOLUME /var/lib/portcullis

# The numeric id of the image's `node` user: Kubernetes' runAsNonRoot can only verify a numeric USER.
USER 1000:1000

# 8080: the proxy. 9091: the admin API, which listens only where the config's admin.host says
# (127.0.0.1 by default, so set admin.host: 0.0.0.0 to reach it from outside the container).
EXPOSE 8080 9091

# Node itself makes the request: slim images have no curl or wget. Assumes the default listen port 8080.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "require('http').get('http://127.0.0.1:8080/healthz',r=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1))"]

# Exec form, so signals go to tini and from it straight to node, with no shell in between.
# The arguments live in CMD, not the entrypoint, because the CLI reads a subcommand only as its first argument:
# `docker run IMAGE check-config /etc/portcullis/config.yaml` and `docker run IMAGE generate-key` must work.
# --host 0.0.0.0 because the config's default (127.0.0.1) is unreachable from outside the container; repeat it
# when overriding CMD to start the proxy with other options.
ENTRYPOINT ["/usr/bin/tini", "--", "node", "bin/portcullis.js"]
CMD ["--config", "/etc/portcullis/config.yaml", "--host", "0.0.0.0"]
