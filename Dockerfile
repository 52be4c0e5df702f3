# The rproxy-gen sidecar image: one static binary, nothing else.
#
# Built offline from a binary built on the host (no base image to pull):
#   make image    # CGO_ENABLED=0 go build -o bin/rproxy-gen ./cmd/rproxy-gen
#                 # DOCKER_BUILDKIT=0 docker build -t rproxy-gen .
# It runs as an unprivileged user (65534). Reading the Docker socket needs
# the socket's group: docker run --group-add "$(stat -c %g /var/run/docker.sock)"
# The output directory is owned by that user, so a named volume mounted on it
# is writable; the official haproxy image reads the same path.
FROM scratch
COPY bin/rproxy-gen /rproxy-gen
COPY --chown=65534:65534 examples/config-dir/ /usr/local/etc/haproxy/
USER 65534:65534
ENTRYPOINT ["/rproxy-gen"]
CMD ["--watch", "-o", "/usr/local/etc/haproxy/haproxy.cfg"]
