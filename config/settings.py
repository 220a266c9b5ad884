"""Baton settings, read from the environment (see .env.example for every variable).

Defaults are the embedded stack: SQLite in var/ and a filesystem Celery broker in
var/, so `make run` needs nothing but Python. DATABASE_URL and CELERY_BROKER_URL
switch to PostgreSQL and Redis; REDIS_URL also moves the cache to Redis.
"""

from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
env.read_env(BASE_DIR / ".env", overwrite=False)

VAR_DIR = Path(env.str("BATON_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise environ.ImproperlyConfigured(
            "Set DJANGO_SECRET_KEY (or DJANGO_DEBUG=true for local development)."
        )
    SECRET_KEY = "dev-only-insecure-key-never-use-in-production"  # noqa: S105
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_htmx",
    "simple_history",  # the audit trail of settings: routing rules, promises, SLA policies, schedules
    "csp",
    "axes",
    "teams",
    "customers",
    "feedback",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",  # records who made a change (after auth)
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: turns a locked-out login into the lock-out page (429).
    "axes.middleware.AxesMiddleware",
    # After the others, so its 413/411 answers still get their headers (CSP, security): refuses an API body over
    # BATON_API_MAX_BYTES before anything reads it.
    "config.middleware.ApiBodyLimitMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

FEEDBACK_ROOMS = ("intake", "understanding", "routing", "cases", "sla", "replies", "audit", "integrations", "board")

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # The site's shared templates (base, errors, sign-in, shared partials), then each room's own
        # templates beside its code (feedback/<room>/templates/); names stay "feedback/...".
        "DIRS": [BASE_DIR / "templates", *(BASE_DIR / "feedback" / room / "templates" for room in FEEDBACK_ROOMS)],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "teams.context_processors.membership",
                "feedback.sla.context_processors.notifications",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'baton.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process and a worker write at once; IMMEDIATE transactions
    # take the write lock up front so concurrent writers wait instead of failing.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache --------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Auth ---------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    # django-axes first: it refuses a locked-out username before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    # Django's ModelBackend that, with DEBUG off, refuses the demo password and signs out demo users who still
    # have it (see config/auth.py).
    "config.auth.Backend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# The audit trail (django-simple-history) is read in the admin, never replayed: a settings change
# goes through its form or service, so the admin's "revert to this version" is off.
SIMPLE_HISTORY_REVERT_DISABLED = True
# Login throttling (django-axes, attempts in the database): after BATON_LOGIN_FAILURE_LIMIT wrong passwords for
# one username from one address, that pair is locked out for BATON_LOGIN_COOLOFF_MINUTES (the login page answers
# 429 with templates/registration/locked_out.html). `manage.py axes_reset` lifts every lock-out now.
AXES_FAILURE_LIMIT = env.int("BATON_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("BATON_LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_CLIENT_IP_CALLABLE = "config.auth.client_ip"
AXES_VERBOSE = False

# --- I18N ---------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("BATON_TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- Static -------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("DJANGO_STATIC_ROOT", default=str(VAR_DIR / "staticfiles")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns on every start if it is missing
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Security (production) ----------------------------------------------------
# Set when a reverse proxy that you run (nginx, a load balancer) is the only way to reach Baton, terminates TLS
# and sets X-Forwarded-Proto and X-Forwarded-For itself: only then are those headers believed (for "is this
# request HTTPS?" and for the client address that login throttling counts). Without a proxy they are ignored,
# since any client can send them.
BATON_TRUSTED_PROXY = env.bool("DJANGO_TRUSTED_PROXY", default=False)
if BATON_TRUSTED_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp), on every response, DEBUG or not: scripts, styles, images and fonts from
# Baton itself only; no inline script, event handler or style attribute, no eval. Front-end code lives in
# static/ (static/feedback/*.js); Chart.js and Swagger UI's SVG icons need data: images.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# --- REST API -----------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first, so an anonymous API call gets 401 with a WWW-Authenticate header.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Integration tokens with scopes (`Bearer bat_...`), made in the portal (/integrations/tokens/).
        "feedback.api.authentication.IntegrationTokenAuthentication",
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # The views' FilterSets; a blank filter value is a 400 (feedback.api.filtering).
    "DEFAULT_FILTER_BACKENDS": ["feedback.api.filtering.FilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.CursorPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "config.api.exception_handler",
    # JSON only, read with a bound (BATON_API_MAX_BYTES, nesting, NaN): a form or multipart body is 415.
    "DEFAULT_PARSER_CLASSES": ["feedback.api.parsers.JSONParser"],
    # Per integration token, in the cache (Redis with REDIS_URL): 429 with Retry-After.
    "DEFAULT_THROTTLE_CLASSES": ["feedback.api.throttling.TokenRateThrottle"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Baton API",
    "DESCRIPTION": "Mentions in, cases and customers out.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and docs, like every other endpoint, are for users Baton knows.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Swagger UI from the pip package, not a CDN: works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # A required string may not be blank: say so (minLength 1), as the validation does.
    "ENFORCE_NON_BLANK_FIELDS": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "feedback.api.schema.add_list_limits",  # minItems/maxItems of list bodies
        # Over every operation (a new endpoint too): the strings it takes (no U+0000, no blank filter), the
        # refusals the platform may give it, links from what creates or reads an object to what takes its id.
        "feedback.api.schema.describe_inputs",
        "feedback.api.schema.document_errors",
        "feedback.api.schema.add_links",
    ],
}

# --- Celery -------------------------------------------------------------------
BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://localhost/")
if CELERY_BROKER_URL.startswith("filesystem://"):
    for sub in ("queue", "processed", "control"):
        (BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
    CELERY_WORKER_ENABLE_REMOTE_CONTROL = False
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = env.int("CELERY_PREFETCH_MULTIPLIER", default=8)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Two queues, both consumed by every worker (unless started with -Q): "celery" for mentions, webhooks
# and notifications, "rollups" for the board's rollup refreshes (feedback.board.upkeep).
CELERY_TASK_QUEUES = (Queue("celery"), Queue("rollups"))
CELERY_BEAT_SCHEDULE = {
    "sla-sweep": {
        "task": "feedback.tasks.sla_sweep",
        "schedule": timedelta(minutes=1),
        "options": {"expires": 50},
    },
    "notification-digests": {
        "task": "feedback.tasks.send_notification_digests",
        "schedule": timedelta(hours=1),
        "options": {"expires": 50 * 60},
    },
    "recover-unprocessed-mentions": {
        "task": "feedback.tasks.recover_unprocessed_mentions",
        "schedule": timedelta(minutes=5),
        "options": {"expires": 240},
    },
}

# --- Baton --------------------------------------------------------------------
# A mention that was stored but not processed after this long is re-enqueued
# (the broker was down, or a worker died holding it).
BATON_RECOVER_AFTER = timedelta(minutes=env.int("BATON_RECOVER_AFTER_MINUTES", default=5))
BATON_SLA_WARN_SHARE = env.float("BATON_SLA_WARN_SHARE", default=0.75)
BATON_SWEEP_BATCH = env.int("BATON_SWEEP_BATCH", default=500)
# The case page shows this many of a case's latest posts and timeline entries; "Show earlier" pages back.
BATON_CASE_PAGE_POSTS = env.int("BATON_CASE_PAGE_POSTS", default=20)
BATON_CASE_PAGE_EVENTS = env.int("BATON_CASE_PAGE_EVENTS", default=50)
# Flood guard: an author with more than BATON_CASE_FLOOD_MENTIONS posts attached to one case within
# BATON_CASE_FLOOD_MINUTES is a possible flood or bot. The case is tagged `possible-flood` with a timeline entry,
# and that author's further posts in the window are stored but not attached to it (feedback.cases.services).
BATON_CASE_FLOOD_MENTIONS = env.int("BATON_CASE_FLOOD_MENTIONS", default=30)
BATON_CASE_FLOOD_MINUTES = env.int("BATON_CASE_FLOOD_MINUTES", default=60)
# Identity resolution (customers.matching): a match at or above BATON_MATCH_AUTO links the author to the
# customer; at or above BATON_MATCH_SUGGEST it becomes a suggestion an agent confirms; below, a prospect.
# Phone numbers without a country code are read as BATON_PHONE_REGION's (set with the replies' PII guard below).
BATON_MATCH_AUTO = env.float("BATON_MATCH_AUTO", default=0.9)
BATON_MATCH_SUGGEST = env.float("BATON_MATCH_SUGGEST", default=0.6)
# Privacy: mentions older than this many days are anonymised by the daily retention task (0: never).
BATON_MENTION_RETENTION_DAYS = env.int("BATON_MENTION_RETENTION_DAYS", default=0)
# Understanding: "model" (the learned model, trained from the shipped data on first use and cached
# in BATON_VAR_DIR/models/) or "rules" (keyword rules and VADER only).
BATON_UNDERSTANDING_ENGINE = env.str("BATON_UNDERSTANDING_ENGINE", default="model")
# Email (notifications): with DEBUG on (`make run`, the demo) they are written as files to
# BATON_MAIL_DIR (default var/mail/), never printed to the console; with DEBUG off, SMTP (EMAIL_HOST...).
# Tests use locmem. EMAIL_BACKEND overrides both.
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.filebased.EmailBackend" if DEBUG
                        else "django.core.mail.backends.smtp.EmailBackend")
EMAIL_FILE_PATH = env.str("BATON_MAIL_DIR", default=str(VAR_DIR / "mail"))
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Baton <baton@localhost>")
# Links in emails start with this.
BATON_SITE_URL = env.str("BATON_SITE_URL", default="http://127.0.0.1:8000")
# Webhooks (/hooks/x/<account>/, /hooks/meta/<account>/): a bigger body gets 413 and is refused
# (its first BATON_WEBHOOK_REJECTED_KEEP_BYTES and its size kept). The views read the stream in chunks, so
# DATA_UPLOAD_MAX_MEMORY_SIZE does not apply to them.
# Per platform, at or above what the platform documents it sends:
# - X (BATON_WEBHOOK_MAX_BYTES): the Account Activity API documents no delivery size and no batch size
#   (https://docs.x.com/x-api/account-activity/introduction and the enterprise Account Activity pages say only
#   that events come as JSON POSTs); a post's text is at most 10,000 characters (feedback.intake.validation), so
#   5 MiB is a generous bound, not a documented one.
# - Meta (BATON_WEBHOOK_META_MAX_BYTES): "Event Notifications are aggregated and sent in a batch with a maximum of
#   1000 updates" (Meta Webhooks, Getting Started, https://developers.facebook.com/docs/graph-api/webhooks/
#   getting-started); no byte size is documented. 1,000 updates of 32 KiB each (a comment of 10,000 characters
#   at up to 3 bytes each in UTF-8, with its envelope): 32,000 KiB.
BATON_WEBHOOK_MAX_BYTES = env.int("BATON_WEBHOOK_MAX_BYTES", default=5 * 1024 * 1024)
BATON_WEBHOOK_META_MAX_BYTES = env.int("BATON_WEBHOOK_META_MAX_BYTES", default=1000 * 32 * 1024)
# A delivery is refused before its body is stored when the account is unknown, the signature header is missing,
# the body is too large or the signature does not match; the refusal is counted (admin: Rejected webhook
# deliveries, per day, account and reason) and only this many bytes of its body are kept, for inspection.
BATON_WEBHOOK_REJECTED_KEEP_BYTES = env.int("BATON_WEBHOOK_REJECTED_KEEP_BYTES", default=1024)
# Rate limits (config.ratelimit; Redis with REDIS_URL), answered 429 with Retry-After. Per client address (behind
# DJANGO_TRUSTED_PROXY, the address the proxy saw): every POST (a ceiling far above a platform's traffic), and its
# refused deliveries: past BATON_WEBHOOK_REJECTS_PER_IP, every POST from that address waits for the window to end
# (a platform's own addresses send signed deliveries, so they are not blocked). Per account: its refused
# deliveries (unknown accounts share one count per platform); past it they are counted but not kept, and a
# delivery that verifies is still taken. "N/second", "N/minute" or "N/hour"; 0 turns a limit off.
BATON_WEBHOOK_RATE_PER_IP = env.str("BATON_WEBHOOK_RATE_PER_IP", default="6000/minute")
BATON_WEBHOOK_REJECTS_PER_IP = env.str("BATON_WEBHOOK_REJECTS_PER_IP", default="30/minute")
BATON_WEBHOOK_REJECTS_PER_ACCOUNT = env.str("BATON_WEBHOOK_REJECTS_PER_ACCOUNT", default="60/minute")
# Retention (task prune_inbound_payloads, beat, hourly): quarantined payloads that verified (kept for replay) and
# refused deliveries (a prefix each) and their daily counts are deleted after these many days.
BATON_QUARANTINE_RETENTION_DAYS = env.int("BATON_QUARANTINE_RETENTION_DAYS", default=30)
BATON_REJECTED_RETENTION_DAYS = env.int("BATON_REJECTED_RETENTION_DAYS", default=7)
# The API (/api/): a request body over this many bytes is refused with 413 before it is read (a list of 1,000
# mentions is a few MB); a chunked body without Content-Length with 411. The JSON parser is bounded as well.
BATON_API_MAX_BYTES = env.int("BATON_API_MAX_BYTES", default=16 * 1024 * 1024)
# Key for secrets stored encrypted (connected accounts); empty: derived from SECRET_KEY.
# Several keys, comma-separated: the first encrypts, all decrypt (rotation).
BATON_FIELD_KEY = env.str("BATON_FIELD_KEY", default="")
# Replies (feedback.replies). The PII guard blocks a public reply that contains an email address, a phone
# number (parsed by `phonenumbers`, numbers without a country code read as BATON_PHONE_REGION), a card number
# (Luhn), an order number (BATON_ORDER_NUMBER_PATTERN, a Python regular expression, case-insensitive) or
# another customer's name.
BATON_PHONE_REGION = env.str("BATON_PHONE_REGION", default="US")
BATON_ORDER_NUMBER_PATTERN = env.str(
    "BATON_ORDER_NUMBER_PATTERN",
    default=r"\b(?:order|booking|confirmation|reservation|ticket|ref(?:erence)?)(?:\s+(?:no\.?|number|code))?"
            r"\s*[:#]?\s*(?=[A-Z0-9-]*\d)[A-Z0-9][A-Z0-9-]{4,}\b|#\d{5,}\b",
)
# Replies on cases with one of these tags (as well as press cases and cases a routing rule marks) wait
# for a lead's approval, or legal's for the legal ones.
BATON_APPROVAL_TAGS = env.list("BATON_APPROVAL_TAGS", default=["legal-review", "legal-sensitive"])
# Sending: a failed send is retried BATON_REPLY_SEND_ATTEMPTS times in all, waiting BATON_REPLY_RETRY_SECONDS,
# then twice that, and so on; then it is shown on the case as not sent.
BATON_REPLY_SEND_ATTEMPTS = env.int("BATON_REPLY_SEND_ATTEMPTS", default=5)
BATON_REPLY_RETRY_SECONDS = env.int("BATON_REPLY_RETRY_SECONDS", default=30)
BATON_CONNECTOR_TIMEOUT = env.float("BATON_CONNECTOR_TIMEOUT", default=10.0)
# A reply still `sending` this long after its attempt started lost its worker (killed mid-send): the beat's
# reply-sending-sweep (every minute) puts it back once, and the platform is asked whether that attempt posted
# it before it is posted again. Far above the connector's timeout, so a slow send is never taken for a dead one.
BATON_REPLY_SENDING_TIMEOUT = env.int("BATON_REPLY_SENDING_TIMEOUT", default=600)
# The platforms' API roots (tests point them at a local fake server).
BATON_X_API_URL = env.str("BATON_X_API_URL", default="https://api.x.com")
BATON_META_GRAPH_URL = env.str("BATON_META_GRAPH_URL", default="https://graph.facebook.com/v21.0")
# Collision detection: a viewer of a case counts as present this long after their last poll.
BATON_PRESENCE_SECONDS = env.int("BATON_PRESENCE_SECONDS", default=12)
# Board rollups (feedback.board): days changed by mentions and cases are recomputed by a task on the
# "rollups" queue BATON_ROLLUP_DELAY seconds (or 20x the last refresh's duration) after the first change
# (changes meanwhile join it), and by
# the beat every minute; BATON_ROLLUPS_LIVE=false stops the upkeep (then run manage.py rebuild_rollups).
BATON_ROLLUPS_LIVE = env.bool("BATON_ROLLUPS_LIVE", default=True)
BATON_ROLLUP_DELAY = env.int("BATON_ROLLUP_DELAY", default=30)
CELERY_BEAT_SCHEDULE["refresh-rollups"] = {
    "task": "feedback.tasks.refresh_rollups",
    "schedule": timedelta(minutes=1),
    "options": {"expires": 50, "queue": "rollups"},
}
# Suggested problems: complaints of the last BATON_SUGGEST_DAYS days clustered, every hour.
BATON_SUGGEST_DAYS = env.int("BATON_SUGGEST_DAYS", default=28)
CELERY_BEAT_SCHEDULE["suggest-problems"] = {
    "task": "feedback.tasks.suggest_problems",
    "schedule": timedelta(hours=1),
    "options": {"expires": 3000, "queue": "rollups"},
}
# Mentions older than BATON_MENTION_RETENTION_DAYS are anonymised (0: kept).
CELERY_BEAT_SCHEDULE["mention-retention"] = {
    "task": "feedback.tasks.anonymise_old_mentions",
    "schedule": timedelta(days=1),
    "options": {"expires": 3600},
}
# Verified webhook payloads still `received` after BATON_RECOVER_AFTER (lost task message, or brand
# replies waiting for their mention to be processed) are parsed again.
CELERY_BEAT_SCHEDULE["recover-inbound-payloads"] = {
    "task": "feedback.tasks.recover_inbound_payloads",
    "schedule": timedelta(minutes=5),
    "options": {"expires": 240},
}
CELERY_BEAT_SCHEDULE["prune-inbound-payloads"] = {
    "task": "feedback.tasks.prune_inbound_payloads",
    "schedule": timedelta(hours=1),
    "options": {"expires": 3000},
}
# --- CRM sync API and outbound webhooks (feedback/api, feedback/integrations, customers/webhooks) ---
# Requests per minute of one integration token when the token does not set its own limit (429 with
# Retry-After beyond it; 0: no limit; counted by config.ratelimit: Redis with REDIS_URL).
BATON_API_RATE_PER_MINUTE = env.int("BATON_API_RATE_PER_MINUTE", default=1200)
# Lists paged by (updated_at, id) leave out rows changed in the last BATON_API_SYNC_SETTLE_SECONDS: a
# transaction that is still committing cannot slip behind a sync's cursor (an incremental sync gets them next).
BATON_API_SYNC_SETTLE_SECONDS = env.float("BATON_API_SYNC_SETTLE_SECONDS", default=2.0)
# A replayed Idempotency-Key returns the stored answer for this long.
BATON_API_IDEMPOTENCY_HOURS = env.int("BATON_API_IDEMPOTENCY_HOURS", default=24)
# Outbound webhooks: per attempt timeout; retries of 5xx/timeouts after BACKOFF * 2**(n-1) s, at most MAX_BACKOFF s,
# until MAX_ATTEMPTS attempts.
BATON_WEBHOOK_TIMEOUT_SECONDS = env.float("BATON_WEBHOOK_TIMEOUT_SECONDS", default=10.0)
BATON_WEBHOOK_BACKOFF_SECONDS = env.float("BATON_WEBHOOK_BACKOFF_SECONDS", default=30.0)
BATON_WEBHOOK_MAX_BACKOFF_SECONDS = env.float("BATON_WEBHOOK_MAX_BACKOFF_SECONDS", default=3600.0)
BATON_WEBHOOK_MAX_ATTEMPTS = env.int("BATON_WEBHOOK_MAX_ATTEMPTS", default=8)
# Webhook targets must be public addresses (customers.webhooks.targets): a URL whose host is or resolves to a
# loopback, private, link-local, multicast or reserved address is refused when saved (400) and at each delivery
# (after resolving the name again: DNS rebinding). True lets them through: a receiver on Baton's own network.
BATON_WEBHOOK_ALLOW_PRIVATE_TARGETS = env.bool("BATON_WEBHOOK_ALLOW_PRIVATE_TARGETS", default=False)
CELERY_BEAT_SCHEDULE["purge-idempotency-keys"] = {
    "task": "feedback.tasks.purge_idempotency_keys",
    "schedule": timedelta(hours=1),
    "options": {"expires": 3000},
}
CELERY_BEAT_SCHEDULE["webhook-sweep"] = {
    "task": "customers.tasks.webhook_sweep",
    "schedule": timedelta(minutes=1),
    "options": {"expires": 50},
}

CELERY_BEAT_SCHEDULE["recover-replies"] = {
    "task": "feedback.tasks.recover_replies",
    "schedule": timedelta(minutes=5),
    "options": {"expires": 240},
}
# Replies stuck in `sending` past BATON_REPLY_SENDING_TIMEOUT (a worker died mid-send) are re-queued once each.
CELERY_BEAT_SCHEDULE["reply-sending-sweep"] = {
    "task": "feedback.tasks.sweep_stuck_replies",
    "schedule": timedelta(minutes=1),
    "options": {"expires": 50},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # A refused request (403, 404) is one line with its reason, not a traceback (config/log_filters.py).
    "filters": {"one_line_client_errors": {"()": "config.log_filters.OneLineClientErrors"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain",
                             "filters": ["one_line_client_errors"]}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # django-axes logs every successful login at INFO; its lock-outs are warnings.
    "loggers": {"django.db.backends": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}
