# Production image: runs against an external PostgreSQL (DATABASE_URL), as docker-compose.yml does.
# The embedded PostgreSQL of `npm start` is left out (--omit=optional drops its binaries): without
# DATABASE_URL the broker refuses to start and says so.
FROM node:20.20.2-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY tsconfig.json tsconfig.build.json vite.config.ts ./
COPY ui ./ui
COPY src ./src
COPY migrations ./migrations
COPY bin ./bin
RUN npm ci --no-audit --no-fund && npm prune --omit=dev --omit=optional

FROM node:20.20.2-bookworm-slim
WORKDIR /app
# The PostgreSQL proxy listens beyond loopback only with TLS (BREAKGLASS_PG_PROXY_TLS_CERT/_KEY and
# BREAKGLASS_PG_PROXY_HOST=0.0.0.0, port 54330): docs/proxy.md.
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8080 BREAKGLASS_DATA_DIR=/var/lib/breakglass BREAKGLASS_PG_PROXY_HOST=127.0.0.1
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY examples ./examples
# `docker compose exec breakglass breakglass dev-token …` uses the broker's own data dir and key.
RUN ln -s /app/bin/breakglass.js /usr/local/bin/breakglass && mkdir -p /var/lib/breakglass && chown node:node /var/lib/breakglass
USER node
EXPOSE 8080 54330
HEALTHCHECK --interval=10s --timeout=3s CMD node -e "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
CMD ["node", "dist/src/main.js"]
