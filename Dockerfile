# ChatCore.AI image: the same code runs as web (daphne) and worker (celery).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 DJANGO_ENV=production \
    VAR_DIR=/var/lib/chatcore INDEX_DIR=/var/lib/chatcore/index STATIC_ROOT=/app/staticfiles

WORKDIR /app
COPY requirements.txt .
# The CPU build of torch first, so nothing resolves a multi-GB CUDA build.
RUN pip install "$(grep -E '^torch==' requirements.txt)" --index-url https://download.pytorch.org/whl/cpu \
 && pip install -r requirements.txt

COPY . .
RUN SECRET_KEY=collectstatic-only-not-secret-0123456789-abcdefghijklmnopqrstuvwxyz \
    python manage.py collectstatic --no-input --verbosity 0 \
 && SECRET_KEY=prepare-models-only-not-secret-0123456789-abcdefghijklmnopqrstuvwxyz \
    python manage.py prepare_models \
 && useradd --system --uid 10001 chatcore && mkdir -p /var/lib/chatcore && chown -R chatcore /var/lib/chatcore

USER chatcore
EXPOSE 8000
# --verbosity 0: the app writes one JSON line per request; daphne's access lines would not be JSON.
# No --proxy-headers: daphne would believe the client's own X-Forwarded-For. The app reads it only
# from TRUSTED_PROXIES (chatcore/proxies.py).
CMD ["daphne", "--verbosity", "0", "-b", "0.0.0.0", "-p", "8000", "chatcore.asgi:application"]
