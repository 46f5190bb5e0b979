FROM python:3.11-slim
WORKDIR /srv/hotcrm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    HOTCRM_HOST=0.0.0.0 HOTCRM_PORT=8080 HOTCRM_DATA_DIR=/srv/hotcrm/data
COPY pyproject.toml README.md ./
COPY app ./app
COPY pages ./pages
COPY components ./components
COPY metadata ./metadata
RUN pip install --no-cache-dir . \
 && useradd --system --uid 10001 --home-dir /srv/hotcrm hotcrm \
 && mkdir -p /srv/hotcrm/data && chown hotcrm /srv/hotcrm/data
# SQLite file, generated secret (when HOTCRM_SECRET_KEY is unset) and backups live here.
VOLUME ["/srv/hotcrm/data"]
USER hotcrm
EXPOSE 8080
# The probe follows HOTCRM_PORT, so a replica moved to another port stays healthy.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('HOTCRM_PORT', '8080'), timeout=2)"
# First sign-in: set HOTCRM_ADMIN_EMAIL + HOTCRM_ADMIN_PASSWORD (created once while no
# admin exists) or HOTCRM_DEMO=1 for the demo org. Replicas must share HOTCRM_SECRET_KEY.
CMD ["hotcrm", "run"]
