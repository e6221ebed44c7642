"""Django settings: every value comes from a CONTROLPLANE_* environment variable (docs/CONFIGURATION.md)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from controlplane import config, filemodes

# Before anything is written: every process of the control plane loads these settings, and what it creates
# (database, WAL, broker messages, artifacts, keys, schedule) is then 0600/0700 whatever umask it got.
filemodes.restrict_umask()
BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = config.data_dir(BASE_DIR)

_db = config.parse_database_url(config.env_str("CONTROLPLANE_DATABASE_URL", "sqlite:///controlplane.sqlite3"), DATA_DIR)
DATABASE_VENDOR = _db.vendor
DATABASES = {"default": _db.settings}
# ... and what an older release or a looser umask left there (the database may live outside the data directory).
filemodes.make_private(
    [DATA_DIR]
    + [Path(_db.settings["NAME"] + suffix) for suffix in ("", "-wal", "-shm", "-journal") if _db.vendor == "sqlite"]
)
# Django's file storage (collectstatic) sets 0644 on what it saves unless told otherwise.
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700

SECRET_KEY = config.secret_key(DATA_DIR, DATABASE_VENDOR)
# Master keys of the secrets store come from the key provider at first use, never from settings
# (docs/SECURITY.md); this names the provider class only.
SECRETS_KEY_PROVIDER = config.env_str("CONTROLPLANE_KEY_PROVIDER", "controlplane.secrets.keys.LocalKeyProvider") or ""
if not all(part.isidentifier() for part in SECRETS_KEY_PROVIDER.split(".")) or "." not in SECRETS_KEY_PROVIDER:
    raise config.ConfigError(
        f"CONTROLPLANE_KEY_PROVIDER={SECRETS_KEY_PROVIDER!r} is not a dotted class path (package.module.Class)"
    )
DEBUG = config.env_bool("CONTROLPLANE_DEBUG", False)
ALLOWED_HOSTS = config.env_hosts("CONTROLPLANE_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = config.env_origins("CONTROLPLANE_CSRF_TRUSTED_ORIGINS")

# Behind a TLS-terminating proxy in production; the embedded default serves plain HTTP on loopback.
SECURE_TLS = config.env_bool("CONTROLPLANE_TLS", False)
SESSION_COOKIE_SECURE = SECURE_TLS
CSRF_COOKIE_SECURE = SECURE_TLS
# Parsed even when TLS is off, so a malformed value is reported rather than ignored.
SECURE_SSL_REDIRECT = config.env_bool("CONTROLPLANE_SSL_REDIRECT", True) and SECURE_TLS
SECURE_HSTS_SECONDS = config.env_int("CONTROLPLANE_HSTS_SECONDS", 31536000 if SECURE_TLS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_TLS
SECURE_HSTS_PRELOAD = SECURE_TLS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if SECURE_TLS else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# /healthz and /readyz are answered by controlplane.health.HealthProbeMiddleware before host checks and
# the TLS redirect: probes come by address over plain HTTP.
SILENCED_SYSTEM_CHECKS = [] if SECURE_TLS else ["security.W004", "security.W008", "security.W012", "security.W016"]

INSTALLED_APPS = [
    "daphne",
    "unfold.apps.BasicAppConfig",  # before the admin (its templates win); Basic: it leaves admin.site to ours
    "controlplane.console.admin_config.ConsoleAdminConfig",  # django.contrib.admin with the console's site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from the package: /api/docs/ works offline
    "django_filters",  # list filters (controlplane/api/filters.py); its templates draw the browsable API's form
    "guardian",
    "auditlog",
    "controlplane.eventlog",
    "controlplane.tenancy",
    "controlplane.secrets",
    "controlplane.clusters",
    "controlplane.notifications",
    "controlplane.agents",
    "controlplane.jobs",
    "controlplane.operations",
    "controlplane.diagnostics",
    "controlplane.alerts",
    "controlplane.iam",
    "controlplane.audit",
    "controlplane.api",
    "controlplane.console",
    "controlplane.live",
    "controlplane.metrics",
]

MIDDLEWARE = [
    "controlplane.metrics.middleware.RequestMetricsMiddleware",  # first: times all below; answers /metrics
    "controlplane.health.HealthProbeMiddleware",
    "controlplane.api.middleware.RequestIdMiddleware",
    "controlplane.api.middleware.ApiEnvelopeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "controlplane.api.address_limit.AddressRateLimitMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "auditlog.middleware.AuditlogMiddleware",
    "controlplane.console.audit.ConsoleAuditMiddleware",
    "controlplane.console.timezones.BrowserTimezoneMiddleware",
]

ROOT_URLCONF = "controlplane.urls"
ASGI_APPLICATION = "controlplane.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "controlplane" / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
# Serve collected static files (the admin's CSS/JS) from STATIC_ROOT through Django itself, so the console
# looks right under daphne without DEBUG or a separate web server. Turn off when a proxy or CDN serves them.
SERVE_STATIC = config.env_bool("CONTROLPLANE_SERVE_STATIC", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- The ops console (docs/CONSOLE.md): django-unfold's skin of the admin (ADR 0032). Every font and script it
# loads is in its package (no CDN). Links are lazy: the URLconf is not loaded yet.
from django.urls import reverse_lazy  # noqa: E402
from django.utils.translation import gettext_lazy as _  # noqa: E402

# Where a sign-in without ?next= lands: unfold's login form carries no `next` field of its own.
LOGIN_URL = "/admin/login/"
LOGIN_REDIRECT_URL = "/admin/console/"
_PLATFORM = "controlplane.console.site.is_platform_admin"
UNFOLD = {
    "SITE_TITLE": _("SeaTunnel Control Plane"),
    "SITE_HEADER": _("SeaTunnel Control Plane"),
    "SITE_URL": "/admin/",
    "SHOW_HISTORY": False,
    "SHOW_VIEW_ON_SITE": False,
    "SHOW_LANGUAGES": True,
    "SIDEBAR": {
        "show_search": False,
        "show_all_applications": _PLATFORM,
        "navigation": [
            {"title": _("Dashboard"), "items": [
                {"title": _("Dashboard"), "icon": "dashboard", "link": reverse_lazy("admin:console-dashboard"),
                 "active": "controlplane.console.site.dashboard_is_open"},
            ]},
            {"title": _("Jobs"), "items": [
                {"title": _("Jobs"), "icon": "work", "link": reverse_lazy("admin:console-jobs")},
            ]},
            {"title": _("Runs"), "items": [
                {"title": _("Runs"), "icon": "play_circle", "link": reverse_lazy("admin:console-runs")},
            ]},
            {"title": _("Clusters"), "items": [
                {"title": _("Clusters"), "icon": "hub", "link": reverse_lazy("admin:console-clusters")},
            ]},
            {"title": _("Operations"), "items": [
                {"title": _("Operations"), "icon": "build", "link": reverse_lazy("admin:console-operations")},
                {"title": _("Diagnostics"), "icon": "troubleshoot", "link": reverse_lazy("admin:console-diagnostics")},
            ]},
            {"title": _("Alerts"), "items": [
                {"title": _("Alerts"), "icon": "notifications_active", "link": reverse_lazy("admin:console-alerts")},
                {"title": _("Silences"), "icon": "notifications_paused",
                 "link": reverse_lazy("admin:console-silences")},
                {"title": _("Alert rules"), "icon": "rule", "link": reverse_lazy("admin:console-alert-rules")},
            ]},
            {"title": _("Audit"), "items": [
                {"title": _("Audit"), "icon": "policy", "link": reverse_lazy("admin:console-audit")},
            ]},
            {"title": _("Settings"), "items": [
                {"title": _("Tenant"), "icon": "apartment", "link": reverse_lazy("admin:console-settings"),
                 "active": "controlplane.console.site.tenant_is_open"},
                {"title": _("Workspaces"), "icon": "folder", "link": reverse_lazy("admin:console-workspaces")},
                {"title": _("Members and roles"), "icon": "group", "link": reverse_lazy("admin:console-members")},
                {"title": _("API tokens"), "icon": "key", "link": reverse_lazy("admin:console-tokens")},
                {"title": _("Secrets"), "icon": "lock", "link": reverse_lazy("admin:console-secrets")},
                {"title": _("Notification channels"), "icon": "campaign",
                 "link": reverse_lazy("admin:console-channels")},
                # the platform's model pages, every tenant's rows: platform administrators only
                {"title": _("All tenants (platform)"), "icon": "domain",
                 "link": reverse_lazy("admin:tenancy_tenant_changelist"), "permission": _PLATFORM},
            ]},
        ],
    },
}  # fmt: skip

# --- Redis, Celery -----------------------------------------------------------------------------------
# /metrics (docs/METRICS.md): when set, a scrape needs `Authorization: Bearer <token>`; /metrics/targets needs it.
METRICS_TOKEN = config.bearer_token("CONTROLPLANE_METRICS_TOKEN")
# A Celery worker's own /metrics on this port (0: none), for worker pods that share no directory with a web process.
WORKER_METRICS_PORT = config.env_int("CONTROLPLANE_WORKER_METRICS_PORT", 0, minimum=0, maximum=65535)

REDIS_URL = config.env_str("CONTROLPLANE_REDIS_URL")
if REDIS_URL is not None:
    config.validate_redis_url(REDIS_URL)
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict = {"visibility_timeout": 3600}
else:
    # Embedded default: a durable on-disk broker, kombu's filesystem transport with atomic publishes and a
    # dead-letter folder (controlplane/filesystem_broker.py). See docs/adr/0003-embedded-default.md and 0025.
    from controlplane import filesystem_broker

    BROKER_DIR = DATA_DIR / "broker"
    CELERY_BROKER_URL = "filesystem://localhost//"  # the host is ignored; naming one silences a kombu warning
    CELERY_BROKER_TRANSPORT = filesystem_broker.TRANSPORT
    CELERY_BROKER_TRANSPORT_OPTIONS = filesystem_broker.transport_options(BROKER_DIR)
# No CHANNEL_LAYERS: websockets are fed in-process by one tailer per web process, never through a channel
# layer (docs/adr/0015-live-one-tailer-per-process.md).

# Live progress (docs/LIVE.md): how often each web process's tailer reads the log. Without Redis that is the
# latency; with Redis commits wake it at once and this is only the safety net.
LIVE_POLL_SECONDS = (
    config.env_int("CONTROLPLANE_LIVE_POLL_MILLISECONDS", 1000 if REDIS_URL else 150, minimum=10, maximum=60_000) / 1000
)

CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
HEALTH_INTERVAL_SECONDS = config.env_int("CONTROLPLANE_HEALTH_INTERVAL_SECONDS", 15, minimum=1)
# Node agents (docs/AGENTS.md): heartbeat interval; stale after 3 missed, lost after 10. The long poll's
# longest wait is fixed by the protocol (docs/AGENT_PROTOCOL.md).
AGENT_HEARTBEAT_SECONDS = config.env_int("CONTROLPLANE_AGENT_HEARTBEAT_SECONDS", 10, minimum=1, maximum=3600)
AGENT_POLL_TIMEOUT_SECONDS = 25
CELERY_BEAT_SCHEDULE = {
    "eventlog-run-subscriptions": {
        "task": "eventlog.run_subscriptions",
        "schedule": config.env_int("CONTROLPLANE_SUBSCRIPTION_INTERVAL_SECONDS", 5, minimum=1),
    },
    "jobs-sync-runs": {
        "task": "jobs.sync_runs",
        "schedule": config.env_int("CONTROLPLANE_RUN_SYNC_INTERVAL_SECONDS", 5, minimum=1),
    },
    "jobs-fire-schedules": {
        "task": "jobs.fire_schedules",
        "schedule": config.env_int("CONTROLPLANE_SCHEDULE_TICK_SECONDS", 20, minimum=1, maximum=60),
    },
    "agents-check-liveness": {
        "task": "agents.check_liveness",
        "schedule": AGENT_HEARTBEAT_SECONDS,
        "options": {"expires": AGENT_HEARTBEAT_SECONDS},
    },
    "clusters-poll-health": {
        "task": "clusters.poll_health",
        "schedule": HEALTH_INTERVAL_SECONDS,
        "options": {"expires": HEALTH_INTERVAL_SECONDS},  # a tick not started before the next one is dropped
    },
}

# --- Operations (docs/LONG_OPERATIONS.md): the lease a worker holds while it advances an operation, how
# often beat re-queues operations whose lease expired, the first retry's backoff, a waiting step's re-check.
OPERATION_LEASE_SECONDS = config.env_int("CONTROLPLANE_OPERATION_LEASE_SECONDS", 60, minimum=2, maximum=3600)
OPERATION_RECOVER_INTERVAL_SECONDS = config.env_int(
    "CONTROLPLANE_OPERATION_RECOVER_INTERVAL_SECONDS", 15, minimum=1, maximum=3600
)
OPERATION_RETRY_BASE_SECONDS = config.env_int("CONTROLPLANE_OPERATION_RETRY_BASE_SECONDS", 2, minimum=0, maximum=600)
OPERATION_POLL_SECONDS = (
    config.env_int("CONTROLPLANE_OPERATION_POLL_MILLISECONDS", 1500, minimum=50, maximum=60_000) / 1000
)
CELERY_BEAT_SCHEDULE["operations-recover"] = {
    "task": "operations.recover",
    "schedule": OPERATION_RECOVER_INTERVAL_SECONDS,
    "options": {"expires": OPERATION_RECOVER_INTERVAL_SECONDS},
}

# --- Alerts (docs/ALERTS.md): how often beat evaluates the time rules, expires silences, refreshes muting and
# sends reminders (event rules are evaluated by the subscriptions, every CONTROLPLANE_SUBSCRIPTION_INTERVAL_SECONDS).
ALERT_EVAL_INTERVAL_SECONDS = config.env_int("CONTROLPLANE_ALERT_EVAL_INTERVAL_SECONDS", 30, minimum=1, maximum=3600)
# A checkpoint_failing rule reads the engine's log of each RUNNING run: fetched again when the kept one is older
# than this (0: never fetched for alerts; only what a person or the end of the run fetched is read).
ALERT_LOG_REFRESH_SECONDS = config.env_int("CONTROLPLANE_ALERT_LOG_REFRESH_SECONDS", 300, minimum=0, maximum=86400)
CELERY_BEAT_SCHEDULE["alerts-evaluate"] = {
    "task": "alerts.evaluate",
    "schedule": ALERT_EVAL_INTERVAL_SECONDS,
    "options": {"expires": ALERT_EVAL_INTERVAL_SECONDS},
}

# --- Notifications (docs/NOTIFICATIONS.md): attempts before a delivery is dead, the first retry's backoff (doubled
# per attempt, jittered), each send's timeout, how often beat re-queues due retries; email by Django's SMTP backend.
CONTROLPLANE_NOTIFY_MAX_ATTEMPTS = config.env_int("CONTROLPLANE_NOTIFY_MAX_ATTEMPTS", 6, minimum=1, maximum=100)
CONTROLPLANE_NOTIFY_BACKOFF_SECONDS = config.env_int("CONTROLPLANE_NOTIFY_BACKOFF_SECONDS", 30, minimum=0, maximum=3600)
CONTROLPLANE_NOTIFY_TIMEOUT_SECONDS = config.env_int("CONTROLPLANE_NOTIFY_TIMEOUT_SECONDS", 10, minimum=1, maximum=300)
CONTROLPLANE_NOTIFY_REQUEUE_INTERVAL_SECONDS = config.env_int(
    "CONTROLPLANE_NOTIFY_REQUEUE_INTERVAL_SECONDS", 15, minimum=1, maximum=3600
)
CELERY_BEAT_SCHEDULE["notifications-requeue-due"] = {
    "task": "notifications.requeue_due",
    "schedule": CONTROLPLANE_NOTIFY_REQUEUE_INTERVAL_SECONDS,
    "options": {"expires": CONTROLPLANE_NOTIFY_REQUEUE_INTERVAL_SECONDS},
}
# Delivered and dead deliveries older than this are deleted (0: kept for ever), by beat's hourly purge.
CONTROLPLANE_NOTIFY_RETENTION_DAYS = config.env_int("CONTROLPLANE_NOTIFY_RETENTION_DAYS", 30, minimum=0, maximum=3650)
CELERY_BEAT_SCHEDULE["notifications-purge-deliveries"] = {
    "task": "notifications.purge_deliveries",
    "schedule": 3600,
    "options": {"expires": 3600},
}
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = config.env_str("CONTROLPLANE_EMAIL_HOST", "localhost") or "localhost"
if not EMAIL_HOST or any(c.isspace() or c in "/@" for c in EMAIL_HOST) or ":" in EMAIL_HOST.strip("[]"):
    raise config.ConfigError(
        f"CONTROLPLANE_EMAIL_HOST={EMAIL_HOST!r} is not a host name or address (smtp.example.com); the port is "
        "CONTROLPLANE_EMAIL_PORT"
    )
EMAIL_PORT = config.env_int("CONTROLPLANE_EMAIL_PORT", 25, minimum=1, maximum=65535)
EMAIL_HOST_USER = config.env_str("CONTROLPLANE_EMAIL_USER", "") or ""
EMAIL_HOST_PASSWORD = config.env_str("CONTROLPLANE_EMAIL_PASSWORD", "") or ""
if bool(EMAIL_HOST_USER) != bool(EMAIL_HOST_PASSWORD):
    raise config.ConfigError(
        "CONTROLPLANE_EMAIL_USER and CONTROLPLANE_EMAIL_PASSWORD go together: set both for an SMTP login, neither "
        "for none"
    )
EMAIL_USE_TLS = config.env_bool("CONTROLPLANE_EMAIL_STARTTLS", False)
EMAIL_USE_SSL = config.env_bool("CONTROLPLANE_EMAIL_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise config.ConfigError("CONTROLPLANE_EMAIL_STARTTLS and CONTROLPLANE_EMAIL_SSL exclude each other: set one")
EMAIL_TIMEOUT = CONTROLPLANE_NOTIFY_TIMEOUT_SECONDS
DEFAULT_FROM_EMAIL = config.env_str("CONTROLPLANE_EMAIL_FROM", "seatunnel-controlplane@localhost") or ""
if "@" not in DEFAULT_FROM_EMAIL or "\n" in DEFAULT_FROM_EMAIL or "\r" in DEFAULT_FROM_EMAIL:
    raise config.ConfigError(
        f"CONTROLPLANE_EMAIL_FROM={DEFAULT_FROM_EMAIL!r} is not an address (alerts@example.com, or "
        "SeaTunnel <alerts@example.com>)"
    )
# --- Diagnostics (docs/DIAGNOSTICS.md): how long a diagnostic archive is kept, and how often beat deletes the
# archives past it.
DIAGNOSTIC_RETENTION_DAYS = config.env_int("CONTROLPLANE_DIAGNOSTIC_RETENTION_DAYS", 14, minimum=1, maximum=3650)
DIAGNOSTIC_EXPIRY_INTERVAL_SECONDS = config.env_int(
    "CONTROLPLANE_DIAGNOSTIC_EXPIRY_INTERVAL_SECONDS", 3600, minimum=1, maximum=86400
)
CELERY_BEAT_SCHEDULE["diagnostics-expire-archives"] = {
    "task": "diagnostics.expire_archives",
    "schedule": DIAGNOSTIC_EXPIRY_INTERVAL_SECONDS,
    "options": {"expires": DIAGNOSTIC_EXPIRY_INTERVAL_SECONDS},
}

# --- Logging: one line per record, request id when there is one -------------------------------------
LOG_LEVEL = (config.env_str("CONTROLPLANE_LOG_LEVEL", "INFO") or "INFO").upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise config.ConfigError(f"CONTROLPLANE_LOG_LEVEL={LOG_LEVEL!r} is not a log level")
_HTTP_CLIENT_LEVEL = "WARNING" if LOG_LEVEL == "INFO" else LOG_LEVEL
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"line": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "line"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # httpx logs each request at INFO: a line every few seconds per cluster (health, run sync). At DEBUG only.
        "httpx": {"level": _HTTP_CLIENT_LEVEL},
        "httpcore": {"level": _HTTP_CLIENT_LEVEL},
    },
}

# --- Authentication, permissions, API --------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "controlplane.iam.backends.ThrottledModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
ANONYMOUS_USER_NAME = None  # guardian: no anonymous user row; anonymous requests hold nothing
GUARDIAN_RAISE_403 = False
CONTROLPLANE_LOGIN_MAX_FAILURES = config.env_int("CONTROLPLANE_LOGIN_MAX_FAILURES", 5, minimum=1)
CONTROLPLANE_LOGIN_LOCKOUT_SECONDS = config.env_int("CONTROLPLANE_LOGIN_LOCKOUT_SECONDS", 900, minimum=1)
CONTROLPLANE_LOGIN_NAME_FAILURES = config.env_int("CONTROLPLANE_LOGIN_NAME_FAILURES", 50, minimum=1)
CONTROLPLANE_INVITATION_HOURS = config.env_int("CONTROLPLANE_INVITATION_HOURS", 72, minimum=1, maximum=720)

# Request limits (controlplane/iam/ratelimit.py), each (requests, seconds): per credential on the API, per address
# for API requests without a valid credential, per address for agent registrations. Heartbeats and polls: none.
CONTROLPLANE_RATE_LIMIT_TOKEN = config.env_rate("CONTROLPLANE_RATE_LIMIT_TOKEN", "3000/minute")
CONTROLPLANE_RATE_LIMIT_ADDRESS = config.env_rate("CONTROLPLANE_RATE_LIMIT_ADDRESS", "1200/minute")
CONTROLPLANE_RATE_LIMIT_ENROLMENT = config.env_rate("CONTROLPLANE_RATE_LIMIT_ENROLMENT", "60/minute")

# Outbound connections to clusters (controlplane/outbound): extra denied networks, and when set the only allowed ones.
CONTROLPLANE_OUTBOUND_DENY_CIDRS = config.env_cidrs("CONTROLPLANE_OUTBOUND_DENY_CIDRS")
CONTROLPLANE_OUTBOUND_ALLOW_CIDRS = config.env_cidrs("CONTROLPLANE_OUTBOUND_ALLOW_CIDRS")

CACHES = (
    {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    if REDIS_URL
    else {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
)

# Input limits of the API and the agent endpoints (controlplane/api/limits.py, docs/SECURITY.md). The depth stays
# below 254, the most orjson stores in the event log.
MAX_REQUEST_BYTES = config.env_int(
    "CONTROLPLANE_MAX_REQUEST_BYTES", 2 * 1024 * 1024, minimum=1024, maximum=100 * 1024 * 1024
)
MAX_JSON_DEPTH = config.env_int("CONTROLPLANE_MAX_JSON_DEPTH", 32, minimum=4, maximum=200)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "controlplane.api.auth.ApiTokenAuthentication",
        "controlplane.api.auth.LoginJWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "controlplane.api.pagination.Cursor",
    "DEFAULT_FILTER_BACKENDS": ["controlplane.api.filters.FilterBackend"],
    "DEFAULT_PARSER_CLASSES": ["controlplane.api.parsers.JsonObjectParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "controlplane.api.errors.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["controlplane.api.throttling.CredentialRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "URL_FORMAT_OVERRIDE": None,  # ?format= belongs to the views (audit export), not content negotiation
}
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=config.env_int("CONTROLPLANE_JWT_ACCESS_MINUTES", 15, minimum=1)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=config.env_int("CONTROLPLANE_JWT_REFRESH_DAYS", 7, minimum=1)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "AUTH_HEADER_TYPES": ("Bearer",),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "SeaTunnel Control Plane API",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,  # a request body is its own schema (no read-only fields), not the response's
    "COMPONENT_SPLIT_PATCH": False,
    # Choice sets whose field names other components use too ("kind" of tokens, "role" of memberships).
    "ENUM_NAME_OVERRIDES": {
        "AlertStatusEnum": "controlplane.alerts.api.serializers.ALERT_STATUSES",
        "SilenceStatusEnum": "controlplane.alerts.api.serializers.SILENCE_STATUSES",
        "ObjectKindEnum": "controlplane.iam.permissions.OBJECT_KINDS",
        "ObjectRoleEnum": "controlplane.iam.permissions.OBJECT_ROLE_ORDER",
        "RoleEnum": "controlplane.iam.models.ROLE_CHOICES",
        "TokenKindEnum": "controlplane.iam.models.TOKEN_KINDS",
        "NotificationDeliveryStateEnum": "controlplane.notifications.models.DELIVERY_STATES",
    },  # a PATCH body is its serializer as declared: what it requires stays required
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "controlplane.api.schema.error_responses",
    ],
}
AUDITLOG_INCLUDE_ALL_MODELS = False

# --- External identity: LDAP and OpenID Connect (docs/AUTHENTICATION.md) ---------------------------
# They only authenticate: a user they bring in holds no role until one is granted in the control plane.
# Every variable is checked even when its feature is off, so a typo is reported rather than ignored.
from urllib.parse import urlsplit  # noqa: E402


def _dn(name: str, example: str) -> str | None:
    value = config.env_str(name)
    if value is not None and "=" not in value:
        raise config.ConfigError(f"{name}={value!r} is not a distinguished name ({example})")
    return value


CONTROLPLANE_LDAP_URL = config.env_str("CONTROLPLANE_LDAP_URL")
if CONTROLPLANE_LDAP_URL is not None:
    _url = urlsplit(CONTROLPLANE_LDAP_URL)
    try:
        _url.port  # noqa: B018  (raises on a malformed port)
    except ValueError:
        _url = urlsplit("")
    if _url.scheme not in ("ldap", "ldaps") or not _url.hostname or _url.path not in ("", "/") or _url.query:
        raise config.ConfigError(
            f"CONTROLPLANE_LDAP_URL={CONTROLPLANE_LDAP_URL!r} is not an ldap:// or ldaps:// URL with a host "
            "and nothing after it (ldaps://ldap.example.com:636)"
        )
CONTROLPLANE_LDAP_BIND_DN = _dn("CONTROLPLANE_LDAP_BIND_DN", "cn=reader,dc=example,dc=org")
CONTROLPLANE_LDAP_BIND_PASSWORD = config.env_str("CONTROLPLANE_LDAP_BIND_PASSWORD")
if (CONTROLPLANE_LDAP_BIND_DN is None) != (CONTROLPLANE_LDAP_BIND_PASSWORD is None):
    raise config.ConfigError(
        "CONTROLPLANE_LDAP_BIND_PASSWORD and CONTROLPLANE_LDAP_BIND_DN go together: set both for a service "
        "account, neither for an anonymous search"
    )
CONTROLPLANE_LDAP_USER_SEARCH_BASE = _dn("CONTROLPLANE_LDAP_USER_SEARCH_BASE", "ou=people,dc=example,dc=org")
if CONTROLPLANE_LDAP_URL is not None and CONTROLPLANE_LDAP_USER_SEARCH_BASE is None:
    raise config.ConfigError(
        "CONTROLPLANE_LDAP_USER_SEARCH_BASE is required with CONTROLPLANE_LDAP_URL (ou=people,dc=example,dc=org)"
    )
CONTROLPLANE_LDAP_USER_FILTER = config.env_str("CONTROLPLANE_LDAP_USER_FILTER", "(uid={username})") or ""
_depth = 0
for _char in CONTROLPLANE_LDAP_USER_FILTER:
    _depth += {"(": 1, ")": -1}.get(_char, 0)
    if _depth < 0:
        break
if (
    "{username}" not in CONTROLPLANE_LDAP_USER_FILTER
    or not CONTROLPLANE_LDAP_USER_FILTER.startswith("(")
    or not CONTROLPLANE_LDAP_USER_FILTER.endswith(")")
    or _depth != 0
):
    raise config.ConfigError(
        f"CONTROLPLANE_LDAP_USER_FILTER={CONTROLPLANE_LDAP_USER_FILTER!r} is not a parenthesised LDAP filter "
        "naming {username} ((&(objectClass=person)(uid={username})))"
    )
CONTROLPLANE_LDAP_USERNAME_ATTRIBUTE = config.env_str("CONTROLPLANE_LDAP_USERNAME_ATTRIBUTE", "uid") or ""
if not (
    CONTROLPLANE_LDAP_USERNAME_ATTRIBUTE[:1].isalpha()
    and CONTROLPLANE_LDAP_USERNAME_ATTRIBUTE.replace("-", "").isalnum()
):
    raise config.ConfigError(
        f"CONTROLPLANE_LDAP_USERNAME_ATTRIBUTE={CONTROLPLANE_LDAP_USERNAME_ATTRIBUTE!r} is not an attribute name "
        "(uid, sAMAccountName)"
    )
CONTROLPLANE_LDAP_START_TLS = config.env_bool("CONTROLPLANE_LDAP_START_TLS", False)
if CONTROLPLANE_LDAP_START_TLS and (CONTROLPLANE_LDAP_URL or "").lower().startswith("ldaps:"):
    raise config.ConfigError("CONTROLPLANE_LDAP_START_TLS=true needs an ldap:// URL (ldaps:// is TLS already)")
CONTROLPLANE_LDAP_CA_FILE = config.env_str("CONTROLPLANE_LDAP_CA_FILE")
if CONTROLPLANE_LDAP_CA_FILE is not None:
    try:
        Path(CONTROLPLANE_LDAP_CA_FILE).read_bytes()
    except OSError as _exc:
        raise config.ConfigError(
            f"CONTROLPLANE_LDAP_CA_FILE={CONTROLPLANE_LDAP_CA_FILE!r} cannot be read: {_exc.strerror}"
        ) from None
CONTROLPLANE_LDAP_TIMEOUT = config.env_int("CONTROLPLANE_LDAP_TIMEOUT", 5, minimum=1)

CONTROLPLANE_OIDC_ISSUER = config.env_str("CONTROLPLANE_OIDC_ISSUER")
if CONTROLPLANE_OIDC_ISSUER is not None:
    _url = urlsplit(CONTROLPLANE_OIDC_ISSUER)
    _loopback = _url.hostname in ("127.0.0.1", "localhost", "::1")
    if (
        not _url.hostname
        or _url.query
        or _url.fragment
        or not (_url.scheme == "https" or (_url.scheme == "http" and _loopback))
    ):
        raise config.ConfigError(
            f"CONTROLPLANE_OIDC_ISSUER={CONTROLPLANE_OIDC_ISSUER!r} is not an https:// issuer URL without query "
            "(https://idp.example.com/realms/ops; plain http only on loopback)"
        )
CONTROLPLANE_OIDC_CLIENT_ID = config.env_str("CONTROLPLANE_OIDC_CLIENT_ID")
CONTROLPLANE_OIDC_CLIENT_SECRET = config.env_str("CONTROLPLANE_OIDC_CLIENT_SECRET")
if CONTROLPLANE_OIDC_ISSUER is not None and CONTROLPLANE_OIDC_CLIENT_ID is None:
    raise config.ConfigError("CONTROLPLANE_OIDC_CLIENT_ID is required with CONTROLPLANE_OIDC_ISSUER")
for _name, _value in (
    ("CONTROLPLANE_OIDC_CLIENT_ID", CONTROLPLANE_OIDC_CLIENT_ID),
    ("CONTROLPLANE_OIDC_CLIENT_SECRET", CONTROLPLANE_OIDC_CLIENT_SECRET),
):
    if _value is not None and CONTROLPLANE_OIDC_ISSUER is None:
        raise config.ConfigError(f"{_name} is set but CONTROLPLANE_OIDC_ISSUER is not")
CONTROLPLANE_OIDC_USERNAME_CLAIM = config.env_str("CONTROLPLANE_OIDC_USERNAME_CLAIM", "preferred_username") or ""
if any(_char.isspace() for _char in CONTROLPLANE_OIDC_USERNAME_CLAIM):
    raise config.ConfigError(
        f"CONTROLPLANE_OIDC_USERNAME_CLAIM={CONTROLPLANE_OIDC_USERNAME_CLAIM!r} is not a claim name "
        "(preferred_username, email, sub)"
    )

_after_password = AUTHENTICATION_BACKENDS.index("controlplane.iam.backends.ThrottledModelBackend") + 1
if CONTROLPLANE_OIDC_ISSUER is not None:
    AUTHENTICATION_BACKENDS.insert(_after_password, "controlplane.iam.oidc.OIDCBackend")
if CONTROLPLANE_LDAP_URL is not None:
    AUTHENTICATION_BACKENDS.insert(_after_password, "controlplane.iam.ldap.LDAPBackend")
