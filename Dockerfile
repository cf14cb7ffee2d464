# rubric: build with cargo, run on distroless as a numeric non-root user.
#   docker build -t rubric:0.1.0 .
#   docker run --rm -p 50051:50051 rubric:0.1.0
# The image has no shell: the health check is the server's own client (`rubric health-check`).

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
# The registry and target directory are BuildKit caches: a rebuild after a change in src/
# recompiles only rubric, not its dependencies.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin rubric \
    && cp target/release/rubric /usr/local/bin/rubric

# cc: glibc and libgcc, which the Rust binary links; nothing else (TLS is rustls).
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /usr/local/bin/rubric /usr/local/bin/rubric
# 65532 is distroless' "nonroot"; numeric, so Kubernetes' runAsNonRoot can verify it.
USER 65532:65532
# gRPC, and Prometheus metrics when started with --metrics-listen 0.0.0.0:9090
EXPOSE 50051 9090
HEALTHCHECK --interval=10s --timeout=5s --start-period=5s --retries=3 \
    CMD ["/usr/local/bin/rubric", "health-check", "--addr", "127.0.0.1:50051", "--timeout", "3"]
ENTRYPOINT ["/usr/local/bin/rubric"]
CMD ["serve", "--listen", "0.0.0.0:50051", "--log-format", "json"]
