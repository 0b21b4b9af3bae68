# spmis web, worker and beat image.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends gdal-bin libgdal32 libgeos-c1v5 libproj25 postgresql-client osm2pgrouting osmium-tool \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN DJANGO_SETTINGS_MODULE=spmis.settings.local DATABASE_URL=postgis://build@localhost/build \
    python manage.py collectstatic --no-input -v 0

RUN useradd --system --home /app spmis && mkdir -p /app/media && chown spmis /app/media
USER spmis
EXPOSE 8000
CMD ["gunicorn", "spmis.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "4", "--timeout", "300"]
