# syntax=docker/dockerfile:1
# pg_migration_exporter: multi-stage build.
#   builder: the Rust toolchain on Debian bookworm (Cargo.lock needs Rust 1.88+)
#   runtime: debian:bookworm-slim, the binary, ca-certificates; runs as a non-root user
#
#   docker build -t pg-migration-exporter .
#   docker run --rm -p 9786:9786 -e PGMIG_DATABASE_URL='postgres://monitor:...@db:5432/app' pg-migration-exporter
FROM rust:1.88-slim-bookworm AS builder
# libclang-dev: pg_query (the `plan` subcommand's PostgreSQL parser) runs bindgen at build time.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libclang-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# A stripped binary: the release profile of Cargo.toml keeps symbols.
ENV CARGO_PROFILE_RELEASE_STRIP=symbols
COPY Cargo.toml Cargo.lock build.rs ./
# The build context leaves .git out: pass the revision for pgmig_build_info,
#   docker build --build-arg PGMIG_BUILD_REVISION=$(git rev-parse --short=12 HEAD) .
ARG PGMIG_BUILD_REVISION=unknown
ENV PGMIG_BUILD_REVISION=${PGMIG_BUILD_REVISION}
COPY src ./src
# Cargo.toml declares [[bench]] targets: cargo reads their files even for --bin.
COPY benches ./benches
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin pg_migration_exporter \
    && install -D -m 0755 target/release/pg_migration_exporter /out/pg_migration_exporter

FROM debian:bookworm-slim
# ca-certificates: the system trust store for sslmode=verify-ca/verify-full
# (the Mozilla roots are also compiled in). No curl or wget: the HEALTHCHECK
# speaks HTTP through bash's /dev/tcp.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 pgmig \
    && useradd --system --uid 10001 --gid pgmig --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin pgmig
COPY --from=builder /out/pg_migration_exporter /usr/local/bin/pg_migration_exporter
USER 10001:10001
EXPOSE 9786
# /healthz answers 200 while the process runs, without basic auth even when
# the web config turns it on (docs/security.md). Assumes the default
# listen port 9786; override the health check when you change it.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/9786 && printf 'GET /healthz HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && head -n1 <&3 | grep -q ' 200 '"]
ENTRYPOINT ["/usr/local/bin/pg_migration_exporter"]
