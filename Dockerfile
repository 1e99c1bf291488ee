# Tandem in a container. Build: docker build -t tandem .  Run: see compose.yaml and the README's
# "Deploy". The data key is never in the image: give TANDEM_DATA_KEY, or mount the key file at
# TANDEM_KEY_FILE (compose mounts it as a secret). A key file on the container's own disk would
# be lost with the container, and every note sealed under it with it.

FROM python:3.12-slim AS build
WORKDIR /src
COPY . .
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1
ENV PYTHONUNBUFFERED=1
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
# A fixed uid, so a mounted key file can be given to it: chown 10001 secrets/tandem.key
RUN useradd --system --uid 10001 --create-home --home-dir /home/tandem tandem \
    && mkdir -p /data && chown tandem:tandem /data
USER tandem
WORKDIR /home/tandem
# SQLite lives on the /data volume; DATABASE_URL=postgresql://... puts the data elsewhere.
VOLUME /data
ENV DATABASE_URL=sqlite:////data/tandem.db
ENV TANDEM_KEY_FILE=/run/secrets/tandem_key
ENV TANDEM_METRICS_PORT=9100
EXPOSE 9100
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ['TANDEM_METRICS_PORT'], timeout=4)"
CMD ["tandem", "run"]
