"""RFC 9110 response semantics every engine must honour: interim responses, responses
without content, and status codes judged as the check expects."""

from __future__ import annotations

import pytest

from prober.config.model import Expectations, StatusRange
from prober.probes.result import Reason

from .harness import ANY, BODY, assert_shape, fixed, head, shape

NO_CONTENT_OK = Expectations(status=(StatusRange(100, 599),))

INTERIM = [
    shape("continue_100", head("100 Continue") + fixed()),
    shape("early_hints_103", head("103 Early Hints", "Link: </a.css>; rel=preload") + fixed()),
    shape("two_interims", head("100 Continue") + head("103 Early Hints") + fixed()),
    shape("interim_alone_first", head("100 Continue"), fixed()),
    shape(
        "interim_then_5xx",
        head("103 Early Hints") + fixed(status="503 Busy"),
        reason=Reason.HTTP_5XX,
        status=503,
        check={"expect": Expectations()},
    ),
    shape("processing_102", head("102 Processing") + fixed()),
]


@pytest.mark.parametrize("s", INTERIM, ids=str)
async def test_rfc9110_15_2_interim_responses_are_skipped(engine: str, s: object) -> None:
    await assert_shape(engine, s)  # type: ignore[arg-type]


NO_CONTENT = [
    shape(
        "status_204_held_open",
        head("204 No Content"),
        hold=True,
        status=204,
        check={"expect": NO_CONTENT_OK},
    ),
    shape(
        "status_204_with_length_held_open",
        head("204 No Content", "Content-Length: 10"),
        hold=True,
        status=204,
        check={"expect": NO_CONTENT_OK},
    ),
    shape(
        "status_304_held_open",
        head("304 Not Modified", "Content-Length: 50"),
        hold=True,
        status=304,
        check={"expect": NO_CONTENT_OK},
    ),
    shape(
        "head_with_length_held_open",
        head("200 OK", "Content-Length: 1000"),
        hold=True,
        check={"method": "HEAD", "expect": ANY},
    ),
    shape(
        "head_chunked_held_open",
        head("200 OK", "Transfer-Encoding: chunked"),
        hold=True,
        check={"method": "HEAD", "expect": ANY},
    ),
    shape(
        "head_gzip_held_open",
        head("200 OK", "Content-Encoding: gzip", "Content-Length: 40"),
        hold=True,
        check={"method": "HEAD", "expect": ANY},
    ),
]


@pytest.mark.parametrize("s", NO_CONTENT, ids=str)
async def test_rfc9110_6_4_1_no_content_is_read_for_head_204_304(engine: str, s: object) -> None:
    """A response to HEAD, a 204 and a 304 end at their head: the probe does not wait
    for a body (the server holds the connection open)."""
    await assert_shape(engine, s)  # type: ignore[arg-type]


STATUSES = [
    shape(
        "status_500",
        fixed(status="500 Internal Server Error"),
        reason=Reason.HTTP_5XX,
        status=500,
        check={"expect": Expectations()},
    ),
    shape(
        "status_404",
        fixed(status="404 Not Found"),
        reason=Reason.UNEXPECTED_STATUS,
        status=404,
        check={"expect": Expectations()},
    ),
    shape(
        "status_3xx_without_location",
        fixed(status="300 Multiple Choices"),
        reason=Reason.UNEXPECTED_STATUS,
        status=300,
        check={"expect": Expectations()},
    ),
    shape(
        "status_304_unexpected",
        head("304 Not Modified"),
        reason=Reason.UNEXPECTED_STATUS,
        status=304,
        check={"expect": Expectations()},
    ),
    shape("status_201_in_2xx", fixed(status="201 Created"), status=201),
    shape("status_unregistered_299", fixed(status="299 Whatever"), status=299),
    shape(
        "status_4xx_expected",
        fixed(status="418 Teapot"),
        status=418,
        check={
            "expect": Expectations(status=(StatusRange(418, 418),), body_contains=(BODY.decode(),))
        },
    ),
]


@pytest.mark.parametrize("s", STATUSES, ids=str)
async def test_rfc9110_15_status_code_is_judged_by_expect(engine: str, s: object) -> None:
    await assert_shape(engine, s)  # type: ignore[arg-type]


REDIRECT_LIMITS = [
    shape(
        "redirect_not_followed_when_off",
        head("302 Found", "Location: /elsewhere", "Content-Length: 0"),
        reason=Reason.UNEXPECTED_STATUS,
        status=302,
        check={"follow_redirects": False, "expect": Expectations()},
    ),
    shape(
        "redirect_with_max_zero",
        head("302 Found", "Location: /elsewhere", "Content-Length: 0"),
        reason=Reason.REDIRECTS,
        status=302,
        check={"max_redirects": 0},
    ),
    shape(
        "redirect_with_empty_location",
        head("302 Found", "Location:", "Content-Length: 0"),
        reason=Reason.UNEXPECTED_STATUS,
        status=302,
        check={"expect": Expectations()},
    ),
    shape(
        "redirect_loop",
        head("302 Found", "Location: /", "Content-Length: 0"),
        reason=Reason.REDIRECTS,
        status=302,
        check={"max_redirects": 3},
    ),
]


@pytest.mark.parametrize("s", REDIRECT_LIMITS, ids=str)
async def test_rfc9110_15_4_redirect_limits(engine: str, s: object) -> None:
    await assert_shape(engine, s)  # type: ignore[arg-type]
