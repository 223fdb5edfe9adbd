"""The one place that calls DashScope: per-call key and base URL, bounded retries, typed errors."""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

import dashscope
import requests
import urllib3
from dashscope.common.error import AuthenticationError, DashScopeException

from core import catalog, errors
from core.request import EditRequest

log = logging.getLogger(__name__)

# Codes worth re-sending: the call did not run (throttled) or failed before producing anything.
# Never 504 or a read timeout: those calls may have run and been billed, and a synchronous call has no task
# id to look up later; re-sending would bill again.
_RETRY_CODES = {"Throttling", "Throttling.RateQuota", "Throttling.BurstRate", "InternalError", "ServiceUnavailable"}
_RETRY_STATUSES = {
    HTTPStatus.TOO_MANY_REQUESTS,
    HTTPStatus.INTERNAL_SERVER_ERROR,
    HTTPStatus.BAD_GATEWAY,
    HTTPStatus.SERVICE_UNAVAILABLE,
}
# Either a per-minute limit (gone within the minute) or a used-up quota (not): one retry after the window tells.
_ALLOCATION_QUOTA = "Throttling.AllocationQuota"


# A key is one run of visible ASCII characters. Anything else cannot go into the Authorization header as it is
# (requests refuses a line break, http.client any non-Latin-1 character) or is no key at all (NUL, a space).
_KEY_PATTERN = re.compile(r"[\x21-\x7e]+")


@dataclass(frozen=True)
class Endpoint:
    """Where a call goes and with which key. The key never appears in repr(); a key that cannot be sent in a
    header is refused on construction with MalformedApiKeyError, so no call is ever tried with it."""

    base_url: str
    region: str
    api_key: str = field(repr=False)
    simulated: bool = False

    def __post_init__(self) -> None:
        if not _KEY_PATTERN.fullmatch(self.api_key):
            raise errors.MalformedApiKeyError()

    @property
    def host(self) -> str:
        """host[:port] of the base URL, for messages."""
        return urlsplit(self.base_url).netloc


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries with jittered exponential backoff: short for a failing service (full jitter), up to
    about a minute for throttling, the service's documented recovery (equal jitter: never again at once), and
    never more than `max_wait` seconds of waiting in all."""

    attempts: int = 4
    base_delay: float = 1.0
    max_delay: float = 12.0
    throttled_attempts: int = 6
    throttled_base_delay: float = 5.0
    throttled_max_delay: float = 60.0
    max_wait: float = 75.0

    def delay(self, failed_attempts: int, *, throttled: bool = False) -> float:
        """Seconds to wait after `failed_attempts` failures (1-based)."""
        if throttled:
            cap = min(self.throttled_max_delay, self.throttled_base_delay * 2 ** (failed_attempts - 1))
            return random.uniform(cap / 2, cap)
        return random.uniform(0, min(self.max_delay, self.base_delay * 2 ** (failed_attempts - 1)))


@dataclass(frozen=True)
class RetryNotice:
    """Told to the caller before each wait, so the user sees that we are retrying; `throttled` when DashScope
    refused the call for the account's rate (429), so other calls of the account should hold back too."""

    attempt: int
    attempts: int
    delay: float
    reason: str
    throttled: bool = False


@dataclass(frozen=True)
class Usage:
    """What DashScope says it billed: images of width x height."""

    width: int
    height: int
    image_count: int


@dataclass(frozen=True)
class ServiceResult:
    """DashScope's answer to one successful call: result links that live 24 hours."""

    request_id: str
    image_urls: tuple[str, ...]
    usage: Usage
    attempts: int


class _TextOnlyConversation(dashscope.MultiModalConversation):
    """`MultiModalConversation` without the SDK's local-file handling; every generation call goes through it.

    dashscope 2.0's `call` hands each user content item, `text` included, to `cls._preprocess_messages`, which
    runs it through `utils.oss_utils.check_and_upload_local`: a prompt naming an existing file (relative to the
    working directory, `~/...` or absolute) is uploaded to DashScope's storage with the caller's key and sent
    as an `oss://` URL, and a prompt starting with `file://` raises InvalidInput. Our images are always data
    URIs and our texts are the visitor's words, so there is nothing to upload: every item is sent as it is.
    """

    @classmethod
    def _preprocess_messages(cls, model: str, messages: list[dict[str, Any]], api_key: str) -> bool:
        """Leave every content item as it is; False: nothing was uploaded."""
        return False


# The guard above only works while the SDK keeps this hook: an SDK without it would upload files again, silently.
if not isinstance(vars(dashscope.MultiModalConversation).get("_preprocess_messages"), classmethod):
    raise ImportError(
        f"dashscope {dashscope.__version__} has no MultiModalConversation._preprocess_messages: core.client's guard "
        "against the SDK uploading local files named by a prompt needs updating for this SDK version"
    )


class _Retry(Exception):
    """Internal: this attempt failed in a way that is safe to re-send; `error` is what the user sees if
    attempts run out."""

    def __init__(self, error: errors.ServiceError, reason: str, *, throttled: bool = False, once: bool = False) -> None:
        super().__init__(reason)
        self.error = error
        self.reason = reason
        self.throttled = throttled
        self.once = once  # re-sent at most once, after a throttling limit's whole window


class _ResendRefused(requests.exceptions.RequestException):
    """A second request through a _SingleSendSession; `first` is how the one it sent failed (None: it did not)."""

    def __init__(self, first: requests.exceptions.RequestException | None) -> None:
        super().__init__("a second send of the same call was refused")
        self.first = first


class _SingleSendSession(requests.Session):
    """A requests session that puts at most one request on the wire; any later one raises _ResendRefused.

    dashscope 2.0's HTTP layer (`_send_with_retry`) sends a POST a second time when the first raises
    ConnectionError, also when the connection broke after the whole request had gone out: the generation
    could run, and be billed, twice without anyone being told. `MultiModalConversation.call` takes a requests
    session as its `session=` keyword (one the SDK consumes, never sent as a parameter) and sends through it,
    so one such session per attempt leaves every decision to send again to call_edit's retry policy. Being
    new, it never reuses a stale pooled keep-alive connection, the case that SDK re-send exists for.
    """

    def __init__(self) -> None:
        super().__init__()
        self._sent = False
        self._failure: requests.exceptions.RequestException | None = None

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        """Send the first request as requests.Session would; refuse every later one."""
        if self._sent:
            raise _ResendRefused(self._failure)
        self._sent = True
        try:
            return super().request(method, url, *args, **kwargs)
        except requests.exceptions.RequestException as exc:
            self._failure = exc
            raise


def call_edit(
    request: EditRequest,
    endpoint: Endpoint,
    *,
    timeout: float,
    retry: RetryPolicy | None = None,
    on_retry: Callable[[RetryNotice], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> ServiceResult:
    """Send `request` and return the result links; raise a ServiceError subclass on failure."""
    policy = retry or RetryPolicy()
    waited = 0.0
    once_retried = False
    attempt = 0
    while True:
        attempt += 1
        try:
            return _attempt(request, endpoint, timeout, attempt)
        except _Retry as failure:
            if failure.once:
                attempts = attempt if once_retried else attempt + 1
                wait = policy.throttled_max_delay
                once_retried = True
            else:
                attempts = policy.throttled_attempts if failure.throttled else policy.attempts
                wait = policy.delay(attempt, throttled=failure.throttled)
            wait = min(wait, policy.max_wait - waited)
            if attempt >= attempts or wait <= 0:
                raise failure.error from None
            waited += wait
            log.warning("edit attempt %d/%d failed (%s); retrying in %.1fs", attempt, attempts, failure.reason, wait)
            if on_retry:
                on_retry(RetryNotice(attempt, attempts, wait, failure.reason, failure.throttled))
            sleep(wait)


def _attempt(request: EditRequest, endpoint: Endpoint, timeout: float, attempt: int) -> ServiceResult:
    params = request.params
    content: list[dict[str, str]] = [{"image": image.data_uri} for image in request.images]
    content.append({"text": params.prompt})
    extra: dict[str, Any] = {"n": params.n, "watermark": params.watermark, "seed": params.seed}
    if params.negative_prompt.strip():
        extra["negative_prompt"] = params.negative_prompt
    if params.size is not None:
        extra["size"] = str(params.size)
    if request.model.prompt_extend:
        extra["prompt_extend"] = params.prompt_extend
    try:
        with _SingleSendSession() as session:
            response = _TextOnlyConversation.call(
                api_key=endpoint.api_key,
                model=params.model,
                messages=[{"role": "user", "content": content}],
                stream=False,
                base_address=endpoint.base_url,
                request_timeout=timeout,
                session=session,
                **extra,
            )
    except Exception as exc:  # every failure of the SDK call becomes a typed error (or a retry) here
        raise sdk_failure(exc, endpoint, timeout, attempt) from None
    if response.status_code != HTTPStatus.OK:
        raise _service_error(response, request, endpoint, attempt)
    return _parse_success(response, request.model.usage_keys, attempt)


def sdk_failure(exc: Exception, endpoint: Endpoint, timeout: float, attempt: int) -> Exception:
    """What an exception raised by the SDK call becomes: a `core.errors` error, or `_Retry` when re-sending is
    safe. Nothing the SDK raises escapes `call_edit` as it is."""
    if isinstance(exc, _ResendRefused):
        return _transport_error(exc.first or exc, endpoint, timeout, attempt)
    if isinstance(exc, requests.exceptions.RequestException):
        return _transport_error(exc, endpoint, timeout, attempt)
    if isinstance(exc, AuthenticationError):
        return errors.MissingApiKeyError()
    if isinstance(exc, DashScopeException):
        # The SDK's own errors (InvalidInput, UploadFileException, ModelRequired, ...) are all raised before
        # the request is sent.
        return errors.SdkRefusedError(kind=type(exc).__name__, detail=_detail(exc, endpoint))
    if isinstance(exc, (TypeError, KeyError, AttributeError, ValueError)):
        # The SDK raises TypeError itself when a 200 body has no `output`.
        return errors.UnexpectedResponseError(code="no output", detail=_detail(exc, endpoint))
    log.error("the dashscope SDK raised %s", type(exc).__name__, exc_info=exc)
    return errors.UnexpectedResponseError(code=type(exc).__name__, detail=_detail(exc, endpoint))


def _parse_success(response: Any, usage_keys: tuple[str, str, str], attempt: int) -> ServiceResult:
    request_id = response.request_id or ""
    try:
        content = response.output.choices[0].message.content
        urls = tuple(item["image"] for item in content if isinstance(item, dict) and item.get("image"))
    except (AttributeError, IndexError, KeyError, TypeError):
        raise errors.UnexpectedResponseError(
            request_id=request_id, code="no images", detail="the answer has no result images"
        ) from None
    if not urls:
        raise errors.UnexpectedResponseError(
            request_id=request_id, code="no images", detail="the answer has no result images"
        )
    usage = response.usage or {}
    width_key, height_key, count_key = usage_keys
    return ServiceResult(
        request_id=request_id,
        image_urls=urls,
        usage=Usage(
            width=_count(usage.get(width_key)),
            height=_count(usage.get(height_key)),
            image_count=_count(usage.get(count_key)) or len(urls),
        ),
        attempts=attempt,
    )


def _count(value: Any) -> int:
    """A usage number as an int; 0 for anything that is not a whole number."""
    try:
        return max(0, int(value or 0))
    except (TypeError, ValueError):
        return 0


# 403s that name what the key's workspace may not reach.
_WORKSPACE_ERRORS: dict[str, type[errors.AccessDeniedError]] = {
    "Model.AccessDenied": errors.ModelAccessDeniedError,
    "Workspace.AccessDenied": errors.WorkspaceAccessDeniedError,
}


def _service_error(response: Any, request: EditRequest, endpoint: Endpoint, attempt: int) -> Exception:
    """Map an HTTP error answer to the error the user sees, or to _Retry when it is safe to re-send."""
    status = int(response.status_code)
    code = str(response.code or "")
    detail = _redact(str(response.message or "").strip(), endpoint.api_key)[:300] or f"HTTP {status}"
    rid = response.request_id or None
    region = catalog.get_region(endpoint.region)
    model = request.params.model
    if code == _ALLOCATION_QUOTA:
        quota = errors.QuotaExhaustedError(request_id=rid, model=model)
        return _Retry(quota, f"{code} {status}", throttled=True, once=True)
    if code in _RETRY_CODES or status in _RETRY_STATUSES:
        throttled = status == HTTPStatus.TOO_MANY_REQUESTS or code.startswith("Throttling")
        if throttled:
            error: errors.ServiceError = errors.ThrottledError(request_id=rid, attempts=attempt)
        else:
            error = errors.ServiceUnavailableError(request_id=rid, code=code or f"HTTP {status}", attempts=attempt)
        return _Retry(error, f"{code or 'HTTP'} {status}", throttled=throttled)
    if code == "InvalidApiKey" or status == HTTPStatus.UNAUTHORIZED:
        return errors.InvalidApiKeyError(request_id=rid, region=region.name, region_zh=region.name_zh)
    if code == "AllocationQuota.FreeTierOnly":
        return errors.FreeTierOnlyError(request_id=rid, model=model)
    if code in _WORKSPACE_ERRORS:
        return _WORKSPACE_ERRORS[code](
            request_id=rid, model=model, code=code, detail=detail, region=region.name, region_zh=region.name_zh
        )
    if code == "Arrearage":
        return errors.ArrearageError(request_id=rid)
    if code == "DataInspectionFailed":
        return errors.ContentInspectionError(request_id=rid)
    if code.startswith("AccessDenied"):
        return errors.AccessDeniedError(request_id=rid, model=model, code=code, detail=detail)
    if code == "Model.NotExist" or status == HTTPStatus.NOT_FOUND:
        return errors.ModelNotFoundError(request_id=rid, model=model, region=region.name, region_zh=region.name_zh)
    if code == "InvalidParameter":
        return errors.ServiceRejectedParameterError(request_id=rid, detail=detail)
    if code == "GatewayTimeout" or status == HTTPStatus.GATEWAY_TIMEOUT:
        return errors.MaybeBilledError(request_id=rid, detail=f"gateway timeout, HTTP {status}")
    return errors.UnexpectedResponseError(request_id=rid, code=code or f"HTTP {status}", detail=detail)


def _transport_error(
    exc: requests.exceptions.RequestException, endpoint: Endpoint, timeout: float, attempt: int
) -> Exception:
    """Connect failures are safe to retry (nothing was sent); anything after sending may have been billed."""
    if _never_connected(exc):
        return _Retry(errors.ConnectionFailedError(host=endpoint.host, attempts=attempt), "connection failed")
    if isinstance(exc, requests.exceptions.JSONDecodeError):
        return errors.UnexpectedResponseError(code="not JSON", detail="the answer could not be read as JSON")
    if isinstance(exc, requests.exceptions.Timeout):
        return errors.MaybeBilledError(detail=f"no answer within {timeout:g} s")
    return errors.MaybeBilledError(detail="the connection was dropped mid-call")


def _never_connected(exc: BaseException) -> bool:
    """True when the failure happened before the request could reach the server."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    seen: BaseException | None = exc
    for _ in range(12):  # exception chains are short; bound the walk anyway
        if seen is None:
            return False
        if isinstance(seen, urllib3.exceptions.NewConnectionError):
            return True
        reason = getattr(seen, "reason", None)
        if isinstance(reason, BaseException) and reason is not seen:
            seen = reason
            continue
        args = getattr(seen, "args", ())
        seen = args[0] if args and isinstance(args[0], BaseException) else seen.__context__
    return False


def _detail(exc: Exception, endpoint: Endpoint) -> str:
    return _redact(str(exc), endpoint.api_key)[:300] or type(exc).__name__


def _redact(text: str, key: str) -> str:
    return text.replace(key, "***") if key else text
