"""Fetch result images at once, in parallel, from allowed hosts only, into the content store."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from core import errors
from core.links import link_expired
from core.png_stream import DamagedPng, PngStream
from core.store import ContentStore, Hold

log = logging.getLogger(__name__)

# Any host name under aliyuncs.com: DashScope publishes no fixed list of result hosts (2026 links came from
# dashscope-result-*.oss-cn-*, dashscope-a717.oss-accelerate, dashscope-7c2c.oss-cn-shanghai, ...). One or
# more DNS labels, then the domain itself: an IP literal, a look-alike suffix or the bare domain never match.
_RESULT_HOST = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+aliyuncs\.com")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_REDIRECTS = {301, 302, 303, 307, 308}
MAX_REDIRECTS = 3
_CHUNK = 256 * 1024


@dataclass(frozen=True)
class SavedImage:
    """One result, complete on disk."""

    index: int
    url: str
    path: str
    sha256: str
    width: int
    height: int
    size_bytes: int
    exact_path: str | None = None  # the result resampled to an input's exact size, when asked for
    composite_path: str | None = None  # a region edit's composite: this result pasted into Image 1
    composite: dict[str, Any] | None = None  # how the composite was lined up and blended

    @property
    def shown_path(self) -> str:
        """The file people see of this result: the composite, else the exact-size version, else the raw output."""
        return self.composite_path or self.exact_path or self.path


@dataclass(frozen=True)
class DownloadPolicy:
    """Which hosts results may come from, and how hard to try."""

    base_url: str | None = None
    timeout: float = 60.0
    attempts: int = 4
    backoff: float = 0.5
    max_bytes: int = 64 * 1024 * 1024

    def allows(self, url: str) -> bool:
        """True for a link to a host under `aliyuncs.com` over http or https on the scheme's own port, or to
        exactly the scheme, host and port of the configured base URL; never with a user name or password.

        OSS serves result links on the default ports only, so another port on an aliyuncs.com name is not a
        result link (and would let a link reach some other service there). The base URL's own port is allowed,
        as a proxy or the simulator may listen anywhere.
        """
        if any(char.isspace() or not char.isprintable() or char == "\\" for char in url):
            return False  # parsers disagree on such links: urlsplit drops tabs and newlines, others do not
        try:
            parts = urlsplit(url)
            port = parts.port
            base = urlsplit(self.base_url) if self.base_url else None
            base_port = base.port if base else None
        except ValueError:  # brackets around no IP address, a port that is not a number, or out of range
            return False
        if parts.username is not None or parts.password is not None or not parts.hostname:
            return False
        default_port = _DEFAULT_PORTS.get(parts.scheme)
        if default_port is not None and port in (None, default_port) and _RESULT_HOST.fullmatch(parts.hostname):
            return True
        if base is None:
            return False
        # The same origin whether the scheme's own port is written out or not (or user info is in the setting).
        return (parts.scheme, parts.hostname, port or default_port) == (
            base.scheme,
            base.hostname,
            base_port or _DEFAULT_PORTS.get(base.scheme),
        )


class _HandFollowed(requests.Session):
    """A session that leaves redirects to `_follow`: requests would otherwise parse each Location itself, even
    with allow_redirects=False (for Response.next), and raise a bare ValueError on one that is no URL."""

    def resolve_redirects(self, *args: object, **kwargs: object) -> Iterator[requests.Response]:
        return iter(())


class _Transient(Exception):
    """A failure worth another try while the link lives."""


def download_all(
    urls: Sequence[str],
    store: ContentStore,
    policy: DownloadPolicy,
    *,
    on_saved: Callable[[SavedImage], None] | None = None,
    clock: Callable[[], float] = time.time,
    hold: Hold | None = None,
) -> list[SavedImage | errors.DownloadError]:
    """Download every url in parallel; each entry of the result is the saved image or why it failed.

    `on_saved` is called (from worker threads) as each image lands, so callers can show it at once. Files land
    under `hold`, when given, so the store keeps them until the caller has recorded them.
    """
    if not urls:
        return []
    with _HandFollowed() as session, ThreadPoolExecutor(max_workers=len(urls)) as pool:
        futures = [
            pool.submit(_download_one, index, url, store, policy, session, on_saved, clock, hold)
            for index, url in enumerate(urls, start=1)
        ]
        return [future.result() for future in futures]


def _download_one(
    index: int,
    url: str,
    store: ContentStore,
    policy: DownloadPolicy,
    session: requests.Session,
    on_saved: Callable[[SavedImage], None] | None,
    clock: Callable[[], float],
    hold: Hold | None,
) -> SavedImage | errors.DownloadError:
    if not policy.allows(url):
        log.warning("refused result %d from a host outside the allowlist: %s", index, _host(url))
        return errors.DisallowedHostError(index=index, host=_host(url))
    reason = ""
    for attempt in range(1, policy.attempts + 1):
        if link_expired(url, clock()):
            return errors.LinkExpiredError(index=index)
        try:
            saved = _fetch(index, url, store, policy, session, hold)
        except errors.DownloadError as final:
            return final
        except (_Transient, requests.exceptions.RequestException) as exc:
            reason = str(exc) if isinstance(exc, _Transient) else type(exc).__name__
            log.info("download of result %d failed (attempt %d): %s", index, attempt, reason)
            if attempt < policy.attempts:
                time.sleep(policy.backoff * 2 ** (attempt - 1))
            continue
        if on_saved:
            on_saved(saved)
        return saved
    return errors.DownloadFailedError(index=index, attempts=policy.attempts, reason=reason)


def _fetch(
    index: int, url: str, store: ContentStore, policy: DownloadPolicy, session: requests.Session, hold: Hold | None
) -> SavedImage:
    with _follow(index, url, policy, session) as response:
        status = response.status_code
        if status == 403:
            raise errors.LinkExpiredError(index=index)
        if status >= 500 or status == 429:
            raise _Transient(f"HTTP {status}")
        if status != 200:
            raise errors.DownloadFailedError(index=index, attempts=1, reason=f"HTTP {status}")
        declared = int(response.headers.get("Content-Length") or 0)
        if declared > policy.max_bytes:
            raise errors.DownloadFailedError(index=index, attempts=1, reason=f"{declared} bytes is too large")
        # Checked as it streams (structure and CRCs, as Pillow's verify would), hashed as it is written: the
        # saved file is never read again.
        png = PngStream()
        with store.writer("png", hold=hold) as stream:
            try:
                for chunk in response.iter_content(_CHUNK):
                    stream.write(chunk)
                    if stream.size > policy.max_bytes:
                        raise errors.DownloadFailedError(index=index, attempts=1, reason="the file is too large")
                    png.feed(chunk)
                if declared and stream.size != declared:
                    raise _Transient(f"got {stream.size} of {declared} bytes")
                width, height = png.finish()
            except DamagedPng as damage:
                reason = "the file is not a PNG" if damage.not_png else "the PNG is damaged"
                raise errors.DownloadFailedError(index=index, attempts=1, reason=reason) from None
    stored = stream.stored
    assert stored is not None
    return SavedImage(index, url, str(stored.path), stored.sha256, width, height, stored.size)


def _follow(index: int, url: str, policy: DownloadPolicy, session: requests.Session) -> requests.Response:
    """The answer for `url` after at most MAX_REDIRECTS redirects, each hop checked as the link itself was:
    a hop to a host the policy does not allow is refused before anything is asked of it."""
    for _hop in range(MAX_REDIRECTS + 1):
        response = session.get(url, stream=True, timeout=policy.timeout, allow_redirects=False)
        location = response.headers.get("Location")
        if response.status_code not in _REDIRECTS or not location:
            return response
        response.close()
        try:
            url = urljoin(url, location)
        except ValueError:  # a Location that is no URL at all (e.g. brackets around a name)
            url = location
        if not policy.allows(url):
            log.warning("refused a redirect of result %d to a host outside the allowlist: %s", index, _host(url))
            raise errors.DisallowedHostError(index=index, host=_host(url))
    raise errors.DownloadFailedError(index=index, attempts=1, reason=f"more than {MAX_REDIRECTS} redirects")


def _host(url: str) -> str:
    try:
        return urlsplit(url).hostname or url[:60]
    except ValueError:
        return url[:60]
