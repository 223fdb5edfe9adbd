"""Where results may be downloaded from: any aliyuncs.com host over http or https, the configured base URL's
host, nothing else; and every redirect hop is held to the same rule."""

from __future__ import annotations

import pytest

from core import errors
from core.downloads import MAX_REDIRECTS, DownloadPolicy
from core.request import EditRequest
from core.simulator import Simulator

BASE = "http://127.0.0.1:8123/api/v1"

ALLOWED = [
    "https://dashscope-a717.oss-accelerate.aliyuncs.com/1d/ab/result.png?Expires=1&OSSAccessKeyId=a&Signature=b",
    "https://dashscope-7c2c.oss-cn-shanghai.aliyuncs.com/7c/result.png?Expires=1",
    "https://dashscope-7c2c.oss-accelerate.aliyuncs.com/7c/result.png",
    "http://dashscope-result-sz.oss-cn-shenzhen.aliyuncs.com/xx.png?Expires=1",
    "https://dashscope-result-wlcb-acdr-1.oss-cn-wulanchabu-acdr-1.aliyuncs.com/x.png",
    "https://DashScope-Result-BJ.OSS-CN-Beijing.Aliyuncs.COM/x.png",  # host names are case-insensitive
    "https://dashscope-result-hz.oss-cn-hangzhou.aliyuncs.com:443/x.png",  # the scheme's own port, written out
    "http://dashscope-result-hz.oss-cn-hangzhou.aliyuncs.com:80/x.png",
    "http://127.0.0.1:8123/oss/abc/0.png?Expires=1",  # the configured base URL's scheme, host and port
]

REFUSED = [
    "https://user@dashscope-a717.oss-accelerate.aliyuncs.com/x.png",  # user info
    "https://user:secret@dashscope-a717.oss-accelerate.aliyuncs.com/x.png",
    "https://:@dashscope-a717.oss-accelerate.aliyuncs.com/x.png",
    "https://evil.com/aliyuncs.com/x.png",  # the domain in the path
    "https://evil.com/?next=https://x.aliyuncs.com/x.png",
    "https://aliyuncs.com.evil.com/x.png",  # the domain as a prefix
    "https://dashscope.aliyuncs.com.evil.com/x.png",
    "https://evilaliyuncs.com/x.png",  # a look-alike without the dot
    "https://aliyuncs.com/x.png",  # the bare domain is no storage host
    "https://x.aliyuncs.com./x.png",  # a trailing dot
    "https://47.74.20.1/x.png",  # IP literals
    "http://100.100.100.200/latest/meta-data/",
    "https://[::1]/x.png",
    "https://dashscope-result-sz.oss-cn-shenzhen.aliyuncs.com:8443/x.png",  # another port
    "http://dashscope-result-sz.oss-cn-shenzhen.aliyuncs.com:443/x.png",  # https's port over http
    "https://dashscope-result-sz.oss-cn-shenzhen.aliyuncs.com:99999/x.png",  # no such port
    "ftp://dashscope-result-sz.oss-cn-shenzhen.aliyuncs.com/x.png",
    "file:///etc/passwd",
    "https://evil.com\\@x.aliyuncs.com/x.png",  # parsers disagree on backslashes
    "https://evil.com\t.aliyuncs.com/x.png",  # urlsplit drops the tab, other parsers do not
    "http://127.0.0.1:9999/oss/abc/0.png",  # the base URL's host on another port
    "https://127.0.0.1:8123/oss/abc/0.png",  # ... or over another scheme
    "http://localhost:8123/oss/abc/0.png",  # ... or by another name
]


@pytest.mark.parametrize("url", ALLOWED)
def test_result_links_from_aliyuncs_hosts_and_the_base_url_are_allowed(url):
    assert DownloadPolicy(base_url=BASE).allows(url)


@pytest.mark.parametrize("url", REFUSED)
def test_every_other_link_is_refused(url):
    assert not DownloadPolicy(base_url=BASE).allows(url)


def test_without_a_base_url_only_aliyuncs_hosts_are_allowed():
    policy = DownloadPolicy()
    assert policy.allows(ALLOWED[0]) and not policy.allows("http://127.0.0.1:8123/oss/abc/0.png")


def test_a_redirect_to_an_allowed_host_is_followed_and_the_result_saved(studio, sim, make_image):
    sim.inject("download_redirect")  # to the same object, by a relative link
    result = studio.edit(EditRequest.create([make_image()], "x", seed=1))

    assert len(result.images) == 1 and not result.failures
    assert sum(sim.stats.downloads.values()) == 2  # the redirect, then the object


def test_a_redirect_to_a_host_outside_the_allowlist_is_refused_and_never_fetched(studio, sim, make_image):
    with Simulator() as elsewhere:
        sim.inject("download_redirect", url=elsewhere.origin + "/oss/stolen/0.png")
        result = studio.edit(EditRequest.create([make_image()], "x", n=2, seed=1))

        assert len(result.images) == 1
        (failure,) = result.failures
        assert isinstance(failure, errors.DisallowedHostError) and "127.0.0.1" in failure.message("en")
        assert elsewhere.stats.downloads == {}
    assert sum(sim.stats.downloads.values()) == 2  # each link asked once: the refused hop is not retried


def test_more_redirects_than_the_limit_end_the_download_with_a_reason(studio, sim, make_image):
    sim.inject("download_redirect", times=MAX_REDIRECTS + 1)
    result = studio.edit(EditRequest.create([make_image()], "x", seed=1))

    (failure,) = result.failures
    assert isinstance(failure, errors.DownloadFailedError) and "redirects" in failure.message("en")
    assert sum(sim.stats.downloads.values()) == MAX_REDIRECTS + 1


@pytest.mark.parametrize(
    ("location", "named"),
    [
        ("file:///etc/passwd", "file:///etc/passwd"),
        ("data:image/png;base64,iVBORw0KGgo=", "data:image/png"),
        ("//evil.example/x.png", "evil.example"),  # relative to the scheme: another host
        ("https://[x.aliyuncs.com]/x.png", "x.aliyuncs.com"),  # brackets around a name: no URL at all
        ("http://[::1/x.png", "[::1"),
    ],
)
def test_a_redirect_off_the_web_or_to_a_broken_link_is_refused_with_a_reason(studio, sim, make_image, location, named):
    sim.inject("download_redirect", url=location)
    result = studio.edit(EditRequest.create([make_image()], "x", n=2, seed=1))

    assert len(result.images) == 1
    (failure,) = result.failures
    assert isinstance(failure, errors.DisallowedHostError) and named in failure.message("en")


@pytest.mark.parametrize("url", ["https://[x.aliyuncs.com]/x.png", "https://x.aliyuncs.com]/x.png", "http://[::1/x"])
def test_a_link_python_cannot_parse_is_refused_not_raised(url):
    assert not DownloadPolicy(base_url=BASE).allows(url)


@pytest.mark.parametrize(
    ("base", "link"),
    [
        ("http://127.0.0.1/api/v1", "http://127.0.0.1:80/oss/a/0.png"),  # the scheme's port, written or not
        ("http://127.0.0.1:80/api/v1", "http://127.0.0.1/oss/a/0.png"),
        ("https://proxy.example/api/v1", "https://proxy.example:443/oss/a/0.png"),
        ("http://PROXY.example:8123/api/v1", "http://proxy.example:8123/oss/a/0.png"),
    ],
)
def test_the_base_urls_host_is_the_same_host_with_its_default_port_written_out_or_not(base, link):
    assert DownloadPolicy(base_url=base).allows(link)


def test_a_base_url_with_user_info_allows_its_host_but_never_links_carrying_user_info():
    policy = DownloadPolicy(base_url="http://u:p@127.0.0.1:8123/api/v1")
    assert policy.allows("http://127.0.0.1:8123/oss/a/0.png")
    assert not policy.allows("http://u:p@127.0.0.1:8123/oss/a/0.png")
