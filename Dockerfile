# syntax=docker/dockerfile:1
# prober container image.
#
#   docker build -t prober .
#   docker run --read-only --tmpfs /tmp -v prober-data:/var/lib/prober \
#     -v "$PWD/checks.yaml:/etc/prober/checks.yaml:ro" -p 8080:8080 prober
#
# Two stages: the builder turns the source into wheels (prober's and every dependency's,
# exactly what `pip install .` resolves); the final stage installs only those wheels on a
# clean slim Python, with no compiler, no pip cache and no source tree. See docs/DEPLOY.md.

# One Python for the image and the tests: PYTHON_VERSION equals .python-version (the
# release workflow's setup-python reads it) and the interpreter the tests run on
# (tests/deploy/test_docker.py). The base image is pinned by digest: the multi-arch index
# digest of python:3.11-slim as pinned in public Dockerfiles at the time of writing (it
# could not be resolved against the registry from where this was written; refresh it with
# `docker buildx imagetools inspect python:3.11-slim` when bumping).
ARG PYTHON_VERSION=3.11
ARG PYTHON_DIGEST=sha256:9c900dea9e8fb7e16277c179b555cc72d29a352dbc33cff48ad5a0412fd5bfc7

# The builder is never shipped, so it carries no labels.
# hadolint ignore=DL3049
FROM python:${PYTHON_VERSION}-slim@${PYTHON_DIGEST} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY prober/ prober/
RUN pip wheel --wheel-dir /wheels .

FROM python:${PYTHON_VERSION}-slim@${PYTHON_DIGEST}
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="prober" \
      org.opencontainers.image.description="Prometheus-native synthetic checker and status exporter: probes, component status, automatic incidents, a Statuspage-compatible API and a status page." \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.documentation="docs/DEPLOY.md"

# No .pyc writes at run time (the root filesystem may be read-only); logs unbuffered.
# prober listens on 8080 (public) and 8090 (admin: /metrics, reload, writes) on every
# interface in the container (its own defaults are on 127.0.0.1, which a port mapping cannot
# reach) and keeps SQLite under the volume.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PROBER_LISTEN=0.0.0.0:8080 \
    PROBER_ADMIN_LISTEN=0.0.0.0:8090 \
    PROBER_CONFIG=/etc/prober/checks.yaml \
    PROBER_DB=/var/lib/prober/prober.db \
    PROBER_LOG_FORMAT=json

# The wheels are bind-mounted from the builder, so they never become a layer of this image.
# --no-index: only the wheels the builder resolved, so versions are pinned by that build.
# hadolint ignore=DL3013
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels prober \
    && python -c "import uvloop, httptools, aiodns" \
    && useradd --system --no-log-init --uid 65532 --user-group \
       --home-dir /var/lib/prober --no-create-home --shell /usr/sbin/nologin prober \
    && mkdir -p /var/lib/prober /etc/prober \
    && chown 65532:65532 /var/lib/prober

USER 65532:65532
WORKDIR /var/lib/prober
VOLUME ["/var/lib/prober", "/tmp"]
EXPOSE 8080 8090

# Docker only; Kubernetes uses the chart's probes on /-/healthy and /-/ready.
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/-/healthy', timeout=2)"]

ENTRYPOINT ["prober"]
CMD ["run"]
