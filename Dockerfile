# syntax=docker/dockerfile:1
# picket: build with the full toolchain, run on a slim Node LTS as a non-root user.

FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY bin ./bin
COPY src ./src
COPY test ./test
COPY bench ./bench
# prepare runs the TypeScript build
RUN npm ci --no-audit --no-fund \
    && npm prune --omit=dev --no-audit --no-fund

FROM node:22-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build --chown=node:node /app/package.json ./
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist/src ./dist/src
COPY --from=build --chown=node:node /app/bin ./bin
USER node
EXPOSE 9464
# node directly (not npm), so SIGTERM reaches picket and it shuts down cleanly.
ENTRYPOINT ["node", "/app/bin/picket"]
CMD ["run"]
