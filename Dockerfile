# The image the Kubernetes and AWS Batch examples name (examples/kubernetes, examples/aws-batch).
# Not built by the tests: no registry is reachable where they run. Build and push it yourself:
#   docker build -t registry.example.com/bucket-delta:0.3.0 . && docker push registry.example.com/bucket-delta:0.3.0
# Stage 1: the official Swift image (Debian bookworm) builds a release binary with the Swift runtime and
# Foundation linked in (--static-swift-stdlib), so the run stage needs only the C libraries we link.
FROM swift:6.1-bookworm AS build
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      libcurl4-openssl-dev libyaml-dev libssl-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Package.swift Package.resolved ./
RUN swift package resolve
COPY Sources Sources
RUN swift build -c release --static-swift-stdlib \
 && install -D "$(swift build -c release --static-swift-stdlib --show-bin-path)/bucket-delta" /out/bucket-delta

# Stage 2: a slim Debian with libcurl, libyaml and OpenSSL (the libraries the binary links) and CA
# certificates; no shell tools beyond Debian's base, no compiler. Runs as an unprivileged user.
FROM debian:bookworm-slim
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      libcurl4 libyaml-0-2 libssl3 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin bucket-delta
COPY --from=build /out/bucket-delta /usr/local/bin/bucket-delta
USER 10001
# Checkpoints go next to the outputs on the shared volume for shard runs; elsewhere here.
ENV BUCKET_DELTA_STATE_DIR=/tmp/bucket-delta-state
ENTRYPOINT ["/usr/local/bin/bucket-delta"]
CMD ["--help"]
