# syntax=docker/dockerfile:1
# Potencia agent image. Build: docker build -t potencia .
# Demo:  docker run --rm -p 9785:9785 potencia demo
# Farm:  docker run -d --network host -v /etc/potencia:/etc/potencia:ro potencia run --config /etc/potencia/potencia.yaml
ARG NODE_VERSION=24

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY agent agent
COPY collectors collectors
COPY exporters exporters
COPY config config
COPY simulator simulator
COPY bench bench
RUN npm run build && npm prune --omit=dev

FROM node:${NODE_VERSION}-bookworm-slim
ENV NODE_ENV=production
# V8 sizes the old generation to ~4x the live heap when the heap may grow to gigabytes; a 512 MB cap
# makes it collect sooner: ~230 MB peak RSS at 10,000 miners instead of ~320, for the same CPU. The
# live heap is ~4 KB per device, so raise it past ~80,000 devices (see README, Performance). Each
# young-generation GC copies the hundreds of polls in flight; 32 MB semi-spaces halve how often that
# happens (~20 µs of CPU per poll) for ~32 MB more RSS.
ENV NODE_OPTIONS="--max-old-space-size=512 --max-semi-space-size=32"
# tini as PID 1 reaps the nvidia-smi and ssh children the agent starts (node does not reap orphans) and
# passes SIGTERM/SIGHUP on; openssh-client for nvidia-smi+ssh:// targets.
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini openssh-client \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/potencia
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules node_modules
COPY --from=build /src/dist dist
COPY config config
COPY deploy deploy
COPY LICENSE ./
# The demo's GPU nodes run this fake nvidia-smi (a script, so tsc does not emit it into dist/).
COPY simulator/nvidia-smi/fake-nvidia-smi.mjs simulator/nvidia-smi/fake-nvidia-smi.mjs
RUN ln -s /opt/potencia/dist/agent/bin.js /usr/local/bin/potencia && chmod +x dist/agent/bin.js
# The image's own unprivileged user; the agent needs no capabilities (port 9785, outbound TCP/UDP).
USER node
EXPOSE 9785
# Asks /healthz on the port the agent serves: POTENCIA_PORT if set, else --listen or the config's
# agent.listen (read from the running command line), else 9785; over HTTPS when the agent speaks TLS.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "/opt/potencia/deploy/docker/healthcheck.mjs"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/opt/potencia/dist/agent/bin.js"]
CMD ["demo"]
