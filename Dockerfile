# deskhand: `docker build -t deskhand .` (docs/operations.md, "Container").
# The image runs `deskhand serve` as an unprivileged user; configuration comes from DESKHAND_*
# variables or a TOML file named by DESKHAND_CONFIG. Migrations and the first administrator are
# one-off commands in the same image: `deskhand db upgrade`, `deskhand rbac bootstrap-admin ...`.

# Python 3.11: the version the test suite runs on.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot bot
COPY cards cards
COPY handlers handlers
COPY integrations integrations
COPY storage storage
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DESKHAND_HOST=0.0.0.0 \
    DESKHAND_PORT=3978 \
    DESKHAND_SHARING_DIR=/var/lib/deskhand/sharing
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/deskhand --create-home \
        --shell /usr/sbin/nologin deskhand
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER deskhand
WORKDIR /var/lib/deskhand
EXPOSE 3978
# /readyz: the database is reachable, the schema current and (with workers) a worker reported.
# Loopback without any proxy from the environment; a non-2xx answer or no answer is unhealthy.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; u.build_opener(u.ProxyHandler({})).open('http://127.0.0.1:%s/readyz' % os.environ.get('DESKHAND_PORT', '3978'), timeout=4)"]
# serve stops on SIGTERM (docker stop): it finishes the acked requests and stops its workers.
STOPSIGNAL SIGTERM
CMD ["deskhand", "serve"]
