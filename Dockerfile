# callpulse container image: built in a Rust image, run in a slim Debian one as a non-root
# user. `docker build -t callpulse .` then
# `docker run -p 7710:7710 -e CALLPULSE__INGEST__BROKERS=kafka:9092 callpulse`.
# deploy/docker/build-steps.sh runs the same build steps without Docker (CI checks them).

FROM rust:1-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends cmake libssl-dev zlib1g-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p callpulse \
    && install -D -m 0755 target/release/callpulse /out/callpulse \
    && install -D -m 0644 config/callpulse.toml /out/callpulse.toml

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates libssl3 zlib1g \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin callpulse
COPY --from=build /out/callpulse /usr/local/bin/callpulse
COPY --from=build /out/callpulse.toml /etc/callpulse/callpulse.toml
USER 10001:10001
EXPOSE 7710
# Listen on every interface inside the container; the default is loopback only.
ENV CALLPULSE__EXPORT__LISTEN=0.0.0.0:7710
ENTRYPOINT ["/usr/local/bin/callpulse", "--config", "/etc/callpulse/callpulse.toml"]
CMD ["run"]
