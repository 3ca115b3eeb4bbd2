# The Pacific manager image: compiled JavaScript and production dependencies on distroless Node.js.
# No shell, no package manager, runs as 65532 (nonroot), needs no writable root filesystem.
#   docker build -t pacific:dev .      (npm run up does this, and loads it into kind)

FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY tsconfig.json tsconfig.build.json ./
COPY controllers ./controllers
COPY test/bench ./test/bench
# The web UI: bundled by esbuild (hack/build-ui.mjs, part of npm run build) into dist/ui-assets.
COPY ui ./ui
COPY hack/build-ui.mjs ./hack/build-ui.mjs
RUN npm run build && npm prune --omit=dev --no-audit --no-fund --loglevel=error

FROM gcr.io/distroless/nodejs20-debian12:nonroot
WORKDIR /app
# `node` on PATH for the helm test hook, which runs this image with its own script.
ENV NODE_ENV=production PATH=/nodejs/bin:/usr/local/bin:/usr/bin:/bin
# package.json: "type": "module" for the compiled ES modules.
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist/controllers ./dist/controllers
COPY --from=build /src/dist/ui-assets ./dist/ui-assets
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/nodejs/bin/node", "dist/controllers/main.js"]
