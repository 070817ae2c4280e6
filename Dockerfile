# The local API (crm-local) for docker-compose.yml. Lambda packages are built by
# cargo-lambda / `sam build`, not by this image.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release -p crm-local && strip target/release/crm-local

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/crm-local /usr/local/bin/crm-local
ENV LISTEN_ADDR=0.0.0.0:3000 LOG_FORMAT=json
EXPOSE 3000
ENTRYPOINT ["/usr/local/bin/crm-local"]
