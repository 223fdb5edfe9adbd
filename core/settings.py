"""One typed Settings object, built once at start-up from command-line flags and the environment."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

import platformdirs

from core import catalog
from core.errors import UnknownModelError

APP_NAME = "qwen-edit-studio"


class SettingsError(ValueError):
    """A setting has a value that cannot be used; the message names the variable."""


@dataclass(frozen=True)
class Price:
    """Price of one generated image, for the cost line."""

    amount: Decimal
    currency: str


@dataclass(frozen=True)
class Settings:
    """Everything configurable about the app. See the README's settings table."""

    api_key: str | None = None
    base_url_override: str | None = None
    region: str = catalog.DEFAULT_REGION
    data_dir: Path = Path(platformdirs.user_data_dir(APP_NAME))
    # PostgreSQL shared by replicas (None: SQLite under the data dir). Not in repr: the URL may hold a password.
    database_url: str | None = field(default=None, repr=False)
    replica: str | None = None  # this replica's name behind a load balancer (its route cookie's value)
    simulate: bool = False
    require_user_key: bool = False
    concurrency: int = 32
    queue_max: int = 64
    max_upload_mb: int = 50
    decode_budget_mb: int = 1024
    rate_limit_per_hour: int = 30
    max_storage_mb: int = 5000
    owner_storage_mb: int = 500
    explore_max_cells: int = 48
    explore_concurrency: int = 4
    explore_global_concurrency: int = 8
    max_waiting: int = 4  # edits one address may have waiting for DashScope's rate limit at once
    region_margin: int = 30  # % of the mask's box added around it as context for a region edit
    region_feather: int = 16  # pixels of Image 1 over which a region edit fades out around the mask
    price_per_image: Price | None = None
    request_timeout: float = 180.0
    lease_seconds: float = 30.0  # how long a replica's edit stays its own without renewal (then others resume it)
    trusted_proxies: int = 0  # proxies in front that append to X-Forwarded-For (1 on Spaces)
    # The operator's account limits by rate group (None: not paced), over the catalog's.
    rate_limits: Mapping[str, catalog.RateLimit | None] = field(default_factory=dict)

    @property
    def has_server_key(self) -> bool:
        """True when the operator configured a DashScope key."""
        return bool(self.api_key)

    @property
    def uses_simulator(self) -> bool:
        """Simulator mode: forced, or no server key and visitors are not asked for theirs."""
        return self.simulate or (not self.has_server_key and not self.require_user_key)

    def rate_limit(self, model: catalog.Model) -> catalog.RateLimit | None:
        """The account limit calls of `model` are paced under: the operator's for its rate group, else the
        catalog's (None: not paced)."""
        return self.rate_limits.get(model.rate_group, model.rate)

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str] | None = None,
        *,
        data_dir: str | Path | None = None,
        simulate: bool | None = None,
    ) -> Settings:
        """Read `QWEN_EDIT_*`, `DASHSCOPE_API_KEY` and `DASHSCOPE_HTTP_BASE_URL`; flags given here win."""
        env = os.environ if env is None else env
        region = catalog.get_region(env.get("QWEN_EDIT_REGION") or catalog.DEFAULT_REGION).id
        return cls(
            api_key=(env.get("DASHSCOPE_API_KEY") or "").strip() or None,
            base_url_override=(env.get("DASHSCOPE_HTTP_BASE_URL") or "").strip().rstrip("/") or None,
            region=region,
            data_dir=Path(data_dir or env.get("QWEN_EDIT_DATA_DIR") or _default_data_dir(env)).expanduser(),
            database_url=_database_url(env.get("QWEN_EDIT_DATABASE_URL")),
            replica=_replica(env.get("QWEN_EDIT_REPLICA")),
            simulate=simulate if simulate is not None else _flag(env, "QWEN_EDIT_SIMULATE"),
            require_user_key=_flag(env, "QWEN_EDIT_REQUIRE_USER_KEY"),
            concurrency=_int(env, "QWEN_EDIT_CONCURRENCY", 32),
            queue_max=_int(env, "QWEN_EDIT_QUEUE_MAX", 64),
            max_upload_mb=_int(env, "QWEN_EDIT_MAX_UPLOAD_MB", 50),
            decode_budget_mb=_int(env, "QWEN_EDIT_DECODE_BUDGET_MB", 1024),
            rate_limit_per_hour=_int(env, "QWEN_EDIT_RATE_LIMIT", 30),
            max_storage_mb=_int(env, "QWEN_EDIT_MAX_STORAGE_MB", 5000),
            owner_storage_mb=_int(env, "QWEN_EDIT_OWNER_STORAGE_MB", 500),
            explore_max_cells=_int(env, "QWEN_EDIT_EXPLORE_MAX_CELLS", 48),
            explore_concurrency=_int(env, "QWEN_EDIT_EXPLORE_CONCURRENCY", 4),
            explore_global_concurrency=_int(env, "QWEN_EDIT_EXPLORE_GLOBAL_CONCURRENCY", 8),
            max_waiting=_int(env, "QWEN_EDIT_MAX_WAITING", 4),
            region_margin=_int(env, "QWEN_EDIT_REGION_MARGIN", 30),
            region_feather=_int(env, "QWEN_EDIT_REGION_FEATHER", 16),
            price_per_image=_price(env.get("QWEN_EDIT_PRICE_PER_IMAGE")),
            request_timeout=float(_int(env, "QWEN_EDIT_REQUEST_TIMEOUT", 180)),
            lease_seconds=float(_int(env, "QWEN_EDIT_LEASE_SECONDS", 30)),
            trusted_proxies=_count(env, "QWEN_EDIT_TRUSTED_PROXIES", 1 if env.get("SPACE_ID") else 0),
            rate_limits=parse_rate_limits(env.get("QWEN_EDIT_RATE_LIMITS") or ""),
        )


def _default_data_dir(env: Mapping[str, str]) -> Path:
    """On a Space with persistent storage, /data; elsewhere the per-user data dir."""
    if env.get("SPACE_ID") and os.access("/data", os.W_OK):
        return Path("/data") / APP_NAME
    return Path(platformdirs.user_data_dir(APP_NAME))


def _database_url(raw: str | None) -> str | None:
    """A PostgreSQL URL, or None (unset: SQLite under the data dir)."""
    url = (raw or "").strip()
    if not url:
        return None
    if not url.startswith(("postgresql://", "postgres://")):
        raise SettingsError("QWEN_EDIT_DATABASE_URL should be a postgresql://user:password@host/database URL")
    return url


def _replica(raw: str | None) -> str | None:
    """A replica's name: letters, digits, `-` and `_`, up to 32 (it goes into a cookie and nginx's map)."""
    name = (raw or "").strip()
    if not name:
        return None
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,32}", name):
        raise SettingsError("QWEN_EDIT_REPLICA should be a short name of letters, digits, - and _ (like r1)")
    return name


def _flag(env: Mapping[str, str], name: str) -> bool:
    return (env.get(name) or "").strip().lower() in ("1", "true", "yes", "on")


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a whole number") from None
    if value < 1:
        raise SettingsError(f"{name}={raw!r} must be at least 1")
    return value


def _count(env: Mapping[str, str], name: str, default: int) -> int:
    """A whole number from 0 up."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    if not raw.isdigit():
        raise SettingsError(f"{name}={raw!r} must be a whole number from 0 up")
    return int(raw)


def parse_rate_limits(raw: str) -> dict[str, catalog.RateLimit | None]:
    """ "qwen-image-edit-max=2/60,qwen-image-3.0=off" -> the limit of each named model's rate group (an
    alias and its snapshot are one group). SettingsError names what cannot be used."""
    name = "QWEN_EDIT_RATE_LIMITS"
    limits: dict[str, catalog.RateLimit | None] = {}
    named: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        model_id, equals, value = (text.strip() for text in item.partition("="))
        if not equals:
            raise SettingsError(f"{name}: {item!r} should look like model=requests/seconds, e.g. {model_id}=2/60")
        try:
            model = catalog.get_model(model_id)
            limit = catalog.RateLimit.parse(value)
        except ValueError as error:
            raise SettingsError(f"{name}: {model_id}: {error}") from None
        except UnknownModelError as error:
            raise SettingsError(f"{name}: {error.message('en')}") from None
        group = model.rate_group
        if group in limits and limits[group] != limit:
            raise SettingsError(f"{name}: {named[group]} and {model_id} share one limit but were given two")
        limits[group], named[group] = limit, model_id
    return limits


def _price(raw: str | None) -> Price | None:
    """'0.03 USD' -> Price(0.03, 'USD'); unset -> None."""
    if not raw or not raw.strip():
        return None
    amount, _, currency = raw.strip().partition(" ")
    try:
        return Price(Decimal(amount), currency.strip() or "USD")
    except InvalidOperation:
        raise SettingsError(f"QWEN_EDIT_PRICE_PER_IMAGE={raw!r} should look like '0.03 USD'") from None
