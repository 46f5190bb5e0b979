FROM python:3.11-slim
WORKDIR /srv/hotcrm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 HOTCRM_HOST=0.0.0.0 HOTCRM_PORT=8080
COPY pyproject.toml README.md ./
COPY app ./app
COPY pages ./pages
COPY components ./components
COPY metadata ./metadata
RUN pip install --no-cache-dir .
EXPOSE 8080
HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/health')"
CMD ["hotcrm", "run"]
