# syntax=docker/dockerfile:1
# The local API (crm-local) for docker-compose.yml. Lambda packages are built by
# cargo-lambda / `sam build`, not by this image.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
# BuildKit cache mounts (BuildKit: Docker's default builder since 23.0, and compose's) keep
# the downloaded crates and the compiled dependencies from one build to the next, so a
# source change recompiles the workspace, not every dependency.
# A cache mount is not part of the image: the binary is copied out of target/ in this
# same step, before the mount goes away.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git/db \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p crm-local \
    && cp target/release/crm-local /usr/local/bin/crm-local \
    && strip /usr/local/bin/crm-local

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*
COPY --from=build /usr/local/bin/crm-local /usr/local/bin/crm-local
ENV LISTEN_ADDR=0.0.0.0:3000 LOG_FORMAT=json
EXPOSE 3000
ENTRYPOINT ["/usr/local/bin/crm-local"]
