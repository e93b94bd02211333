"""The write API: SREs post human updates to an incident with a bearer token.

POST /api/prober/v1/incidents/{id}/updates  {"status"?: ..., "body": ..., "impact"?: ...}
Auth is checked before anything else (so ids cannot be probed without the token), in
constant time; every refusal is a 4xx with {"error": {"code", "message"}}.
"""

from __future__ import annotations

import hmac
from typing import Any

import orjson
from aiohttp import web

from prober.api.backend import ApiBackend
from prober.api.bodies import error_json
from prober.api.fastjson import dumps
from prober.api.origin import linked
from prober.api.statuspage import incident_json, update_json
from prober.domain.status import Impact, IncidentStatus
from prober.errors import NotLeaderError, StoreError
from prober.logs import get_logger

log = get_logger("prober.api")

MAX_BODY_BYTES = 64 * 1024
MAX_TEXT_CHARS = 20_000
_FIELDS = frozenset({"status", "body", "impact"})
WRITABLE_IMPACTS = frozenset({Impact.NONE, Impact.MINOR, Impact.MAJOR, Impact.CRITICAL})


class BadRequest(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def check_auth(request: web.Request, token: str | None) -> web.Response | None:
    """None when the request may write; else the 401/403 response to send.

    The header is decoded defensively: a token is ASCII (RFC 6750 b64token), so any other
    byte is a 401 like a wrong token, never a 500. Every refusal is logged (never the
    token given), so that guessing shows in the logs.
    """
    if not token:
        return error_json(
            403,
            "writes_disabled",
            "incident writes are disabled: configure a write token (environment or file)",
        )
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    challenge = {"WWW-Authenticate": 'Bearer realm="prober"'}
    given = given.strip()
    reason = ""
    if scheme.lower() != "bearer" or not given:
        reason, message = "missing", "missing bearer token (Authorization: Bearer ...)"
    else:
        try:
            raw = given.encode("ascii")
        except UnicodeEncodeError:
            reason, message = "not_ascii", "invalid bearer token (not ASCII)"
        else:
            if not hmac.compare_digest(raw, token.encode()):
                reason, message = "invalid", "invalid bearer token"
    if not reason:
        return None
    log.warning("write_auth_failed", reason=reason, remote=request.remote, path=request.path)
    resp = error_json(401, "unauthorized", message)
    resp.headers.update(challenge)
    return resp


async def read_body(request: web.Request, limit: int = MAX_BODY_BYTES) -> bytes | None:
    """The whole body however many TCP pieces it came in; None when it is over `limit`."""
    if request.content_length is not None and request.content_length > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    while True:  # bounded: each pass reads at least one byte, at most limit + 1 in all
        chunk = await request.content.read(limit + 1 - size)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            return None


def parse_update(raw: bytes) -> tuple[IncidentStatus | None, str, Impact | None]:
    """Validate the request body; raise BadRequest with a precise message."""
    try:
        data: Any = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest("malformed_json", f"request body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BadRequest("invalid_body", "request body must be a JSON object")
    unknown = sorted(set(data) - _FIELDS)
    if unknown:
        raise BadRequest(
            "unknown_field", f"unknown field(s) {', '.join(unknown)}; allowed: body, impact, status"
        )
    body = data.get("body")
    if not isinstance(body, str) or not body.strip():
        raise BadRequest("invalid_field", "body: required, a non-empty string")
    if len(body) > MAX_TEXT_CHARS:
        raise BadRequest("invalid_field", f"body: at most {MAX_TEXT_CHARS} characters")
    status = _enum(data.get("status"), "status", tuple(IncidentStatus))
    impact = _enum(data.get("impact"), "impact", tuple(WRITABLE_IMPACTS))
    return (
        IncidentStatus(status) if status is not None else None,
        body,
        Impact(impact) if impact is not None else None,
    )


def _enum(value: Any, name: str, allowed: tuple[str, ...]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or value not in allowed:
        choices = ", ".join(sorted(allowed))
        raise BadRequest("invalid_field", f"{name}: must be one of {choices}")
    return value


async def post_update(request: web.Request, backend: ApiBackend) -> web.Response:
    denied = check_auth(request, backend.write_token())
    if denied is not None:
        return denied
    raw = await read_body(request)
    if raw is None:
        return error_json(413, "too_large", f"request body over {MAX_BODY_BYTES} bytes")
    try:
        status, body, impact = parse_update(raw)
    except BadRequest as exc:
        return error_json(400, exc.code, exc.message)
    incident_id = request.match_info["incident_id"]
    try:
        incident = await backend.write_incident(incident_id, status, body, impact)
    except KeyError:
        return error_json(404, "not_found", f"no incident with id {incident_id!r}")
    except ValueError as exc:
        return error_json(409, "conflict", str(exc) or "the incident refuses this update")
    except StoreError as exc:
        # Not durable, so not acknowledged: the client may retry once the store works.
        log.error("write_refused", incident=incident_id, error=str(exc))
        code = "not_leader" if isinstance(exc, NotLeaderError) else "store_unavailable"
        resp = error_json(503, code, f"the update was not saved: {exc}")
        resp.headers["Retry-After"] = "5"
        return resp
    snap, _, _ = linked(request, backend.snapshot())
    payload = {"incident": incident_json(incident, snap)}
    if incident.updates:
        payload["incident_update"] = update_json(incident.updates[-1])
    return web.Response(
        status=201, body=dumps(payload), headers={"Content-Type": "application/json"}
    )
