"""The HTTP probe: one request per `HttpProber.probe(check)`, judged into a ProbeResult.

Two engines behind one judgement. By default (`engine="fast"`) a check with a fresh
connection per probe (the default) runs on the lean asyncio Protocol client in
`prober.probes.fasthttp`, about half the CPU of a bare aiohttp request; the rest (kept-alive
checks, credentials in the URL, URLs it would have to re-encode) runs on aiohttp: one
ClientSession per connection mode (a force-close connector for checks with
`fresh_connection`, a keep-alive pool otherwise), with aiohttp's total timeout as the
deadline. Either way one cached SSLContext per distinct TLSOptions, and one deadline per
probe (`check.timeout`) that covers DNS, connect, TLS, every redirect hop, headers and
body. The body is counted after decompression and abandoned as soon as it passes
`check.max_body_bytes`, so an endless body or a gzip bomb costs at most that much memory.

A probe never raises for a target failure: every exception becomes a Reason with a
short detail (see `prober.probes.failures`), with the check's secrets and its URL's query
and credentials redacted (a target may echo them). Cancellation is not a target failure and
always propagates.
"""

from __future__ import annotations

import functools
import ssl
from types import MappingProxyType

import aiohttp
from aiohttp.abc import AbstractResolver
from yarl import URL

from prober.clock import Clock, SystemClock
from prober.config.model import Check, EgressPolicy
from prober.config.secrets import Redactor, url_secrets
from prober.probes import expect
from prober.probes.decoding import ACCEPT_ENCODING, DecodeError, decoder_for
from prober.probes.dns import AiohttpResolver, Resolver
from prober.probes.egress import current_egress, socket_factory
from prober.probes.failures import classify
from prober.probes.fasthttp import FastClient, Outcome
from prober.probes.response import MAX_FIELD_SIZE, MAX_HEADERS
from prober.probes.result import ProbeResult, Reason
from prober.probes.timing import ProbeTiming, _now, current_timing, make_trace_config
from prober.probes.tls import ContextCache, cert_expiry

USER_AGENT = "prober/0.1"
_UNKNOWN: object = object()
ENGINES = ("fast", "aiohttp")


class HttpProber:
    """Runs HTTP checks. Create inside the event loop's lifetime; `await close()` at the end."""

    def __init__(
        self,
        clock: Clock | None = None,
        *,
        resolver: AbstractResolver | None = None,
        phase_timings: bool = True,
        engine: str = "fast",
        dns: Resolver | None = None,
    ) -> None:
        """`resolver` replaces DNS (a test seam); `phase_timings=False` skips aiohttp
        tracing (phases then stay 0 except transfer), for the leanest probe.
        `dns` replaces the default resolver (c-ares with the system's name servers).
        `engine="fast"` runs checks with a fresh connection per probe on the lean client
        (`prober.probes.fasthttp`) and everything else on aiohttp; "aiohttp" runs all on
        aiohttp."""
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES}, not {engine!r}")
        self._clock: Clock = clock or SystemClock()
        self._sessions: dict[tuple[bool, bool, EgressPolicy | None], aiohttp.ClientSession] = {}
        self._contexts = ContextCache()
        self._last_tls: object = None
        self._last_context: ssl.SSLContext | None = None
        self._traces = [make_trace_config()] if phase_timings else []
        self._timeouts: dict[float, aiohttp.ClientTimeout] = {}
        self._expiry_cache: dict[bytes, float | None] = {}
        self._origin_expiry: dict[tuple[str | None, int | None], float | None] = {}
        self._dns = dns or Resolver(seam=resolver)
        self._fast = FastClient(self._expiry, self._dns) if engine == "fast" else None

    async def close(self) -> None:
        sessions = list(self._sessions.values())
        self._sessions.clear()
        for session in sessions:
            await session.close()
        await self._dns.close()

    async def __aenter__(self) -> HttpProber:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _session(
        self, fresh: bool, env_proxy: bool = False, egress: EgressPolicy | None = None
    ) -> aiohttp.ClientSession:
        """`env_proxy`: the session that honours HTTP_PROXY, HTTPS_PROXY and NO_PROXY.
        One pool per egress policy: a kept-alive connection opened under one policy is
        never reused by a check under another (its address was checked at connect)."""
        key = (fresh, env_proxy, egress)
        session = self._sessions.get(key)
        if session is None or session.closed:
            connector = aiohttp.TCPConnector(
                limit=0,  # concurrency is bounded by the scheduler, never queued here
                limit_per_host=0,
                force_close=fresh,
                use_dns_cache=False,  # prober.probes.dns caches, for each answer's TTL
                resolver=AiohttpResolver(self._dns),
                socket_factory=socket_factory,  # refuses addresses outside the egress policy
            )
            session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),  # probes must not carry state
                headers=MappingProxyType(
                    {"User-Agent": USER_AGENT, "Accept-Encoding": ACCEPT_ENCODING}
                ),
                auto_decompress=False,  # decoded by prober.probes.decoding, as the lean client
                trust_env=env_proxy,
                trace_configs=self._traces or None,
                timeout=aiohttp.ClientTimeout(total=None),
                # the lean client's limits (aiohttp's defaults, stated so both stay in step)
                max_line_size=MAX_FIELD_SIZE,
                max_field_size=MAX_FIELD_SIZE,
                max_headers=MAX_HEADERS,
            )
            self._sessions[key] = session
        return session

    def _timeout(self, seconds: float) -> aiohttp.ClientTimeout:
        timeout = self._timeouts.get(seconds)
        if timeout is None:
            timeout = self._timeouts[seconds] = aiohttp.ClientTimeout(total=seconds)
        return timeout

    def _ssl_context(self, check: Check) -> ssl.SSLContext:
        options = check.tls
        if options is self._last_tls and self._last_context is not None:
            return self._last_context  # most checks share one TLSOptions object
        context = self._contexts.get(options)
        self._last_tls, self._last_context = options, context
        return context

    async def probe(self, check: Check) -> ProbeResult:
        """One request for `check`; never raises for a target failure."""
        clock = self._clock
        at = clock.now().timestamp()
        start = clock.monotonic()
        timing = ProbeTiming(_now())
        token = current_timing.set(timing)
        egress_token = current_egress.set(check.egress)
        outcome = Outcome()
        try:
            try:
                context = self._ssl_context(check)
            except (OSError, ssl.SSLError, ValueError) as exc:
                outcome.failure = (Reason.TLS, f"tls config: {type(exc).__name__}")
            else:
                request = self._fast.prepare(check) if self._fast is not None else None
                if request is not None:
                    assert self._fast is not None
                    await self._fast.fetch(check, request, context, timing, outcome)
                else:
                    await self._request(check, context, timing, outcome)
        except Exception as exc:  # a target failure, never a bug in the caller
            reason, detail = classify(exc)
            if reason is Reason.TIMEOUT:
                detail = f"timeout after {check.timeout:g}s ({timing.stage()})"
            elif isinstance(exc, aiohttp.TooManyRedirects):
                detail = f"more than {check.max_redirects} redirects"
                if exc.history:
                    outcome.status = exc.history[-1].status
            outcome.failure = (reason, detail)
        finally:
            current_timing.reset(token)
            current_egress.reset(egress_token)
        end = _now()
        duration = clock.monotonic() - start
        reason, detail = self._judge(check, outcome, duration)
        if detail:
            detail = _redactor(check.secret_values + url_secrets(check.url))(detail)
        return ProbeResult(
            check_id=check.id,
            component=check.component,
            at=at,
            reason=reason,
            duration=duration,
            status_code=outcome.status,
            detail=detail,
            phases=timing.phases(end),
            cert_expiry=outcome.cert_expiry,
        )

    async def _request(
        self, check: Check, context: ssl.SSLContext, timing: ProbeTiming, outcome: Outcome
    ) -> None:
        follow = check.follow_redirects and check.max_redirects > 0
        env_proxy = check.proxy == "env"
        session = self._session(check.fresh_connection, env_proxy, check.egress)
        async with session.request(
            check.method,
            check.url,
            headers=check.headers or None,
            data=check.body.encode() if check.body is not None else None,
            ssl=context,
            server_hostname=check.tls.server_name,
            allow_redirects=follow,
            proxy=None if env_proxy else check.proxy,
            middlewares=(_CrossOrigin(check),) if follow else None,
            max_redirects=check.max_redirects + 1,  # aiohttp fails on reaching its limit
            timeout=self._timeout(check.timeout),
            trace_request_ctx=timing,
        ) as resp:
            if not 100 <= resp.status <= 999:  # as llhttp on the lean client
                outcome.failure = (Reason.PROTOCOL, f"protocol: invalid status code {resp.status}")
                return
            outcome.status = resp.status
            outcome.location = "Location" in resp.headers
            if resp.url.scheme == "https":
                outcome.cert_expiry = self._cert_expiry(resp, timing)
            keep = expect.needs_body(check.expect)
            if keep:
                outcome.charset = resp.charset
            await _read_body(resp, check.max_body_bytes, keep, timing, outcome)

    def _cert_expiry(self, resp: aiohttp.ClientResponse, timing: ProbeTiming) -> float | None:
        """The leaf certificate's notAfter; a reused connection keeps its origin's last one."""
        return self._expiry((resp.url.host, resp.url.port), timing.ssl_object)

    def _expiry(self, origin: tuple[str | None, int | None], ssl_object: object) -> float | None:
        if not isinstance(ssl_object, ssl.SSLObject):
            return self._origin_expiry.get(origin)
        try:
            der = ssl_object.getpeercert(binary_form=True)
        except (ValueError, ssl.SSLError):
            der = None
        if not der:
            return None
        cache = self._expiry_cache
        expiry = cache.get(der, _UNKNOWN)
        if expiry is _UNKNOWN:
            if len(cache) >= 1024:
                cache.clear()
            expiry = cache[der] = cert_expiry(der)
        if len(self._origin_expiry) >= 4096:
            self._origin_expiry.clear()
        self._origin_expiry[origin] = expiry  # type: ignore[assignment]
        return expiry  # type: ignore[return-value]

    @staticmethod
    def _judge(check: Check, outcome: Outcome, duration: float) -> tuple[Reason, str]:
        if outcome.failure is not None:
            return outcome.failure
        code = outcome.status
        if code is None:  # pragma: no cover - a request without failure has a status
            return Reason.PROTOCOL, "no response"
        if (
            300 <= code <= 399
            and outcome.location
            and check.follow_redirects
            and check.max_redirects == 0
        ):
            return Reason.REDIRECTS, f"status {code} redirect, but max_redirects is 0"
        failed = expect.check_status(code, check.expect)
        if failed is not None:
            return failed
        if expect.needs_body(check.expect):
            body_failure = expect.check_body(outcome.body, outcome.charset, check.expect)
            if body_failure is not None:
                return Reason.ASSERTION, body_failure
        slow = expect.check_latency(duration, check.expect)
        if slow is not None:
            return Reason.LATENCY, slow
        return Reason.OK, ""


class _CrossOrigin:
    """aiohttp middleware for one probe: on a hop to another origin (and every hop after
    it) the request goes without a configured Host and without the headers written with a
    ${VAR}, as the lean client sends it (aiohttp itself drops Authorization, Cookie and
    Proxy-Authorization)."""

    __slots__ = ("drop", "left", "origin")

    def __init__(self, check: Check) -> None:
        self.origin: URL | None = None
        self.left = False
        self.drop = check.secret_headers | {"host"}

    async def __call__(
        self, req: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType
    ) -> aiohttp.ClientResponse:
        origin = req.url.origin()
        if self.origin is None:
            self.origin = origin
        elif origin != self.origin:
            self.left = True
        if self.left:
            for name in list(req.headers):
                if name.lower() in self.drop:
                    del req.headers[name]
            req.headers["Host"] = req.url.host_port_subcomponent or ""
        return await handler(req)


@functools.lru_cache(maxsize=1024)
def _redactor(secrets: tuple[str, ...]) -> Redactor:
    """A check's secrets and its URL's query and userinfo, out of every detail: a target
    may echo a token back into a body that a failed JSON expectation shows."""
    return Redactor(secrets)


async def _read_body(
    resp: aiohttp.ClientResponse, limit: int, keep: bool, timing: ProbeTiming, outcome: Outcome
) -> None:
    """Read (and decode) the body up to `limit` bytes, kept in `outcome.body` when `keep`;
    a larger or malformed body is the outcome's failure (and its connection is closed)."""
    chunks: list[bytes] = []
    size = 0
    content = resp.content
    coding = resp.headers.get("Content-Encoding", "")
    try:
        decoder = decoder_for(coding.encode("utf-8", "surrogateescape"))
    except DecodeError as exc:
        resp.close()
        outcome.failure = (Reason.PROTOCOL, f"protocol: {exc}")
        return
    try:
        while True:
            chunk = await content.readany()
            if not chunk:
                break
            if decoder is not None:
                chunk = decoder.feed(chunk, limit - size + 1)
            size += len(chunk)
            timing.body_bytes = size
            if size > limit:
                resp.close()  # never reuse a connection with unread body
                outcome.failure = (
                    Reason.BODY_TOO_LARGE,
                    f"body larger than {limit} bytes (decoded)",
                )
                return
            if keep:
                chunks.append(chunk)
        if decoder is not None:
            decoder.finish()
    except DecodeError as exc:
        resp.close()
        outcome.failure = (
            Reason.PROTOCOL,
            f"protocol: incomplete or malformed body: {exc}",
        )
        return
    if keep:
        outcome.body = b"".join(chunks)
