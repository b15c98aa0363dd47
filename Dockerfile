# syntax=docker/dockerfile:1
# Multi-stage build on Node.js 24 LTS, the version CI runs the whole suite on: compile TypeScript with the
# dev dependencies, then a slim runtime image with production dependencies only, running as the
# unprivileged `node` user.

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# postinstall runs scripts/ensure-built.mjs (it skips while src/ and web/ are not there yet)
COPY scripts ./scripts
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY web ./web
RUN npm run build

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production \
    PORT=3000 \
    HOST=0.0.0.0 \
    INTAKE_DATA_DIR=/data
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts ./scripts
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY --from=build /app/dist-inbox ./dist-inbox
COPY --from=build /app/dist-chat ./dist-chat
COPY bin ./bin
COPY config ./config
COPY flows ./flows
COPY teams ./teams
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# The same node flags as `npm start` (tests/deploy.test.ts keeps them equal). A 32 MiB semi-space: about half
# the collections per request under load (docs/PERFORMANCE.md, seventh part), and node's own default shrinks
# to 1 MiB in a 512 MiB container. Costs up to 3 x (32 - 16) = 48 MiB more than the default above 2 GiB.
# No memory reducer: after a load, the heap stays at the size the load grew it to instead of being shrunk
# when idle, so the next burst does not start with a series of full collections (eighth part). Costs memory
# after heavy load: on the bench ~100-230 MB more held between loads, and a higher peak (OPERATIONS.md).
CMD ["node", "--max-semi-space-size=32", "--no-memory-reducer", "dist/server.js"]
