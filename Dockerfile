# meshwatch's container image: `meshwatch` as entrypoint, non-root (uid 65532), and a
# read-only root filesystem friendly layout: it writes only under /var/lib/meshwatch (the
# chart mounts a volume there) and /tmp.
#
#   docker build -t ghcr.io/meshwatch/meshwatch:0.1.0 .
#   docker build --build-arg PYTHON_BASE=python:3.13-slim -t ... .
#
# PYTHON_BASE is any image with python3 (and its venv module) on PATH; CI builds one from
# Debian packages with debootstrap and builds this file on it with buildah (.ci/image.sh).
ARG PYTHON_BASE=python:3.12-slim

FROM ${PYTHON_BASE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# the dependencies first, in a layer of their own: reused until pyproject.toml changes
COPY pyproject.toml ./
RUN python3 -m venv /opt/meshwatch \
 && mkdir meshwatch && touch README.md meshwatch/__init__.py \
 && /opt/meshwatch/bin/pip install --no-compile . \
 && /opt/meshwatch/bin/pip uninstall --yes meshwatch \
 && rm -rf meshwatch README.md build ./*.egg-info
# then the package itself (.dockerignore lets in pyproject.toml, README.md, meshwatch/)
COPY . .
RUN mkdir state && /opt/meshwatch/bin/pip install --no-compile --no-deps . \
 && /opt/meshwatch/bin/pip uninstall --yes pip setuptools \
 && /opt/meshwatch/bin/python -m compileall -q /opt/meshwatch/lib \
 && /opt/meshwatch/bin/meshwatch --help >/dev/null

FROM ${PYTHON_BASE}
# the only writable place (plus /tmp): the SQLite default, reports and scheduler state
COPY --from=build --chown=65532:65532 /src/state /var/lib/meshwatch
COPY --from=build /opt/meshwatch /opt/meshwatch
ENV PATH=/opt/meshwatch/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/var/lib/meshwatch
# relative defaults (sqlite:///./meshwatch.db, reports/) resolve here; no MESHWATCH_* is set,
# so the --config file is never overridden by the image
WORKDIR /var/lib/meshwatch
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["meshwatch"]
CMD ["serve", "--host=0.0.0.0", "--port=8080"]
