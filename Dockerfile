# syntax=docker/dockerfile:1
# picket: compile with the full toolchain, run on a slim Node LTS as a non-root user.
#
#   docker build -t picket:0.1.0 .
#   docker run --rm picket:0.1.0 config --reference
#
# Base: Node 24 is an LTS line supported until April 2028 (Node 22's support ends in April 2027).
# Debian slim rather than Alpine: glibc, as on the machines the tests run on, and Node's official
# Alpine builds are an "experimental" tier; the size difference is small next to the dependencies.
# Both stages use the same image, so that node_modules is installed for the Node that runs it.

FROM node:24-bookworm-slim AS build
WORKDIR /app
ENV npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
# Dependencies first, so that a source change does not reinstall them. No install scripts: none of
# the runtime dependencies needs one (only testcontainers' optional native ssh helpers have them).
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --ignore-scripts
COPY tsconfig.json ./
COPY bin ./bin
COPY src ./src
COPY schemas ./schemas
COPY scripts/build-wasm.mjs ./scripts/build-wasm.mjs
# What `prepare` does on a plain `npm ci`: tsc to dist/, and the fast path's WebAssembly scanner. Then drop the dev dependencies (typescript, eslint...).
RUN npm run build && npm prune --omit=dev --ignore-scripts

FROM node:24-bookworm-slim AS runtime
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="picket" \
      org.opencontainers.image.description="Reads ECS security events from Kafka and raises lateral-movement and RPC alerts seconds after the evidence arrives" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV NODE_ENV=production
WORKDIR /app
# Owned by root and read-only to the process: picket never writes next to its code (only /tmp,
# which the Helm chart mounts as an emptyDir under a read-only root filesystem).
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY --from=build /app/bin ./bin
# the Avro schema of the alert document (avro.alertSchemaId)
COPY --from=build /app/schemas ./schemas
# The image's `node` user, by number, so that Kubernetes' runAsNonRoot can verify it.
USER 1000:1000
# /metrics, /healthz, /readyz (http.port).
EXPOSE 9464
# node itself is PID 1 (not npm, not a shell), so SIGTERM reaches picket, which finishes its batch,
# commits and leaves the group within shutdown.graceMs. picket starts no child processes, so no
# init process is needed to reap zombies.
ENTRYPOINT ["node", "/app/bin/picket"]
CMD ["run"]
