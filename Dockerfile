# ctscope node-agent image: build every workspace, assemble the release tree with scripts/release-build.sh, run it on a slim Debian with the netfilter tools.
# Build: docker build -t REGISTRY/ctscope:0.1.0 .   (deploy/README.md covers pushing and the DaemonSet)

# Manifests first: this layer (and the npm cache it fills) is reused until a package.json or the lock changes.
FROM node:20.20.2-bookworm-slim AS deps
WORKDIR /src
COPY package.json package-lock.json ./
COPY shared/package.json shared/
COPY server/package.json server/
COPY web/package.json web/
RUN npm ci --no-audit --no-fund

FROM deps AS build
COPY tsconfig.base.json ./
COPY shared/ shared/
COPY server/ server/
COPY web/ web/
COPY scripts/release-build.sh scripts/
RUN npm run build \
 && scripts/release-build.sh /release

FROM node:20.20.2-bookworm-slim AS runtime
# iptables ships both iptables-nft-save and iptables-legacy-save; deploy/image/ctscope picks the one the node uses.
RUN apt-get update \
 && apt-get install -y --no-install-recommends conntrack iptables nftables ipvsadm iproute2 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /release/ /app/
COPY deploy/image/ctscope /usr/local/bin/ctscope
RUN for mode in nft legacy; do \
      mkdir -p "/app/iptables/$mode" \
      && ln -s "/usr/sbin/iptables-$mode-save" "/app/iptables/$mode/iptables-save" \
      && ln -s "/usr/sbin/ip6tables-$mode-save" "/app/iptables/$mode/ip6tables-save"; \
    done \
 && chmod 0755 /usr/local/bin/ctscope \
 && mkdir -p /var/lib/ctscope
ENV NODE_ENV=production
# Root on purpose: conntrack/iptables-save need CAP_NET_ADMIN (and NET_RAW for legacy tables) in the child processes too;
# the DaemonSet drops every other capability.
USER root
EXPOSE 7474
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.CTSCOPE_PORT||7474)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/usr/local/bin/ctscope"]
CMD ["serve"]
