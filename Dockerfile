# syntax=docker/dockerfile:1
#
# One image recipe for every service (style anchors §7, §9):
#   docker build --build-arg SERVICE=ingest -t teslaconnectivity/ingest .
# SERVICE is the member name: ingest | store | forecast | api | provisioner, or tessie_sim for the
# local Tessie simulator (uv normalises "tc-tessie_sim" to the package "tc-tessie-sim").
# Each image holds only its own package and the dependencies `uv.lock` pins for it: the dev stack
# (libs/devstack), the test tools and the other services are never installed.
# The OpenVPN server's image is the stage "openvpn" (--target openvpn, SERVICE=provisioner).

# Builder and runtime MUST use the same base: the venv's interpreter link points into it.
ARG PYTHON_IMAGE=python:3.11-slim
# Same uv as the lock was made with; bump together with uv.lock.
ARG UV_IMAGE=ghcr.io/astral-sh/uv:0.13.9

FROM ${UV_IMAGE} AS uv

# --- manifests: only pyproject.toml files and uv.lock, in their workspace paths ---------------
# A workspace sync needs every member's pyproject.toml. Copying them with COPY would either
# flatten the paths or need one line per member; this stage keeps the tree, and the COPY --from
# below is cached by content, so source edits do not invalidate the dependency layer.
FROM ${PYTHON_IMAGE} AS manifests
WORKDIR /src
COPY . .
RUN mkdir /manifests \
    && find . \( -name pyproject.toml -o -name uv.lock \) -exec cp --parents {} /manifests/ \;

# --- builder: resolve the locked dependencies, then install the service itself ---------------
FROM ${PYTHON_IMAGE} AS builder
ARG SERVICE
RUN test -n "${SERVICE}" || { echo "build with --build-arg SERVICE=<service>" >&2; exit 1; }
COPY --from=uv /uv /uvx /bin/
# Use the base image's interpreter (never a downloaded one), copy instead of hard-linking from
# the cache mount, and compile bytecode now so a read-only root filesystem costs nothing.
ENV UV_PYTHON_DOWNLOADS=never \
    UV_LINK_MODE=copy \
    UV_COMPILE_BYTECODE=1
WORKDIR /app

COPY --from=manifests /manifests/ ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --package "tc-${SERVICE}" --no-install-workspace

COPY libs/ libs/
COPY tools/ tools/
COPY services/ services/
# --no-editable: the workspace packages are built into the venv instead of linked to /app/*/src,
# so the runtime stage needs the venv only, not the sources.
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package "tc-${SERVICE}"

# --- openvpn: the OpenVPN server beside the api (build with SERVICE=provisioner) ----------------
#   docker build --build-arg SERVICE=provisioner --target openvpn -t teslaconnectivity/openvpn .
# Debian's openvpn 2.6 on the same base, plus the provisioner's venv: `python -m
# tc_provisioner.server_config` (and its optional tls-crypt-v2 verify hook) run from this image
# too. It runs as the same non-root uid as every service. OpenVPN needs CAP_NET_ADMIN to create
# and configure its tun device: the binary carries it as a file capability, so the container is
# given NET_ADMIN in its bounding set (cap_add) and must allow the exec to gain it (no
# no-new-privileges / allowPrivilegeEscalation: true): the one exception to the services'
# hardening, documented in compose.yaml and k8s/README.md. Declared before runtime so that a
# build without --target still yields a service image.
FROM ${PYTHON_IMAGE} AS openvpn
ARG SERVICE
RUN test "${SERVICE}" = provisioner \
    || { echo "build the openvpn target with --build-arg SERVICE=provisioner" >&2; exit 1; }
# iproute2 (the healthcheck's `ip`) depends on libcap2-bin (setcap) anyway: nothing to purge.
RUN apt-get update \
    && apt-get install -y --no-install-recommends openvpn iproute2 libcap2-bin \
    && setcap cap_net_admin+ep /usr/sbin/openvpn \
    && rm -rf /var/lib/apt/lists/*
# /run/openvpn: the server's files, CRL and management socket. Owned by the service uid, so a
# fresh compose volume mounted there starts owned by it too.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin app \
    && install -d -o 10001 -g 10001 -m 0700 /run/openvpn
COPY --from=builder /app/.venv /app/.venv
ENV SERVICE=${SERVICE} \
    PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /run/openvpn
USER 10001:10001
EXPOSE 1194/udp
# Healthy once the tunnel device is up with its address: from then on the api can bind the
# tunnel address (10.8.0.1) in this network namespace.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["sh", "-c", "ip -o -4 addr show dev tun0 | grep -q inet"]
CMD ["openvpn", "--config", "/run/openvpn/server.conf"]

# --- runtime: the venv on a clean base, a fixed non-root uid -----------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ARG SERVICE
# Numeric uid/gid so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin app
# Owned by root and not writable by the service user: the code cannot be changed at runtime.
COPY --from=builder /app/.venv /app/.venv
ENV SERVICE=${SERVICE} \
    PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /app
USER 10001:10001

# Run with <SERVICE>_HTTP__HOST=0.0.0.0 and <SERVICE>_HTTP__PORT=8000, as compose.yaml and k8s/
# do: the services' own defaults (127.0.0.1, 81xx) suit a laptop, not a container. The api is the
# exception: it listens on the tunnel address (API_HTTP__HOST=10.8.0.1) beside the OpenVPN server.
EXPOSE 8000
# /healthz answers 2xx only while the service's broker or database answers; urlopen raises on
# any status >= 400, which marks the container unhealthy. Asked where the service listens:
# 127.0.0.1 for 0.0.0.0, else <SERVICE>_HTTP__HOST (the api listens on the tunnel address).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; p = os.environ['SERVICE'].upper(); port = os.environ.get(p + '_HTTP__PORT', '8000'); host = os.environ.get(p + '_HTTP__HOST', '0.0.0.0'); host = '127.0.0.1' if host in ('0.0.0.0', '') else host; urllib.request.urlopen(f'http://{host}:{port}/healthz', timeout=4)"]

# A shell expands ${SERVICE} at run time; exec makes Python PID 1 so it receives SIGTERM.
CMD ["sh", "-c", "exec python -m \"tc_${SERVICE}\""]
