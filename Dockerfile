# syntax=docker/dockerfile:1

# ---- builder ---------------------------------------------------------------
# rust-version in Cargo.toml is 1.94 (edition 2024, sea-orm 2.x).
FROM rust:1.95-bookworm AS builder
WORKDIR /app

COPY Cargo.toml Cargo.lock ./
COPY entity/ entity/
COPY migration/ migration/
COPY src/ src/
COPY assets/ assets/

# target/ lives in a cache mount, so the binary is copied out within the same RUN.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/app/target \
    cargo build --release --locked --bin iris \
    && cp /app/target/release/iris /usr/local/bin/iris

# ---- runtime ---------------------------------------------------------------
FROM debian:bookworm-slim AS runtime

RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 iris \
    && useradd --system --uid 10001 --gid iris --home-dir /var/lib/iris --shell /usr/sbin/nologin iris \
    && mkdir -p /var/lib/iris \
    && chown iris:iris /var/lib/iris

COPY --from=builder /usr/local/bin/iris /usr/local/bin/iris

WORKDIR /var/lib/iris
USER iris

ENV HOST=0.0.0.0 \
    PORT=8080 \
    LOG_FORMAT=json

EXPOSE 8080

HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1

ENTRYPOINT ["iris"]
CMD ["serve"]
