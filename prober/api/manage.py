"""The write API for people running incidents and maintenance (bearer token, JSON).

POST  /api/prober/v1/incidents                         open a human incident
PATCH /api/prober/v1/incidents/{id}                    rename, impact, components, update
POST  /api/prober/v1/incidents/{id}/postmortem         post-mortem on a resolved incident
POST  /api/prober/v1/maintenances                      schedule a maintenance
PATCH /api/prober/v1/maintenances/{id}                 change it
POST  /api/prober/v1/maintenances/{id}/cancel          cancel it
POST  /api/prober/v1/maintenances/{id}/complete        end it now

Auth first (writes.check_auth), then the body is validated field by field; refusals are
4xx with {"error": {"code", "message"}}: 400 malformed, 404 unknown id, 409 refused by
the lifecycle, 422 unknown component or template, 503 while the store cannot make the
change durable. Responses carry the Statuspage shapes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson
from aiohttp import web

from prober.api.backend import ApiBackend
from prober.api.bodies import error_json
from prober.api.fastjson import dumps
from prober.api.origin import linked
from prober.api.statuspage import incident_json, maintenance_json
from prober.api.writes import BadRequest, check_auth
from prober.domain import commands as cmd
from prober.domain.desk import Window
from prober.domain.incident import Incident
from prober.domain.snapshot import MaintenanceWindow
from prober.domain.status import ComponentStatus, Impact, IncidentStatus
from prober.errors import NotLeaderError, StoreError

MAX_BODY_BYTES = 64 * 1024
MAX_TEXT = 20_000
MAX_NAME = 200
OPEN_STATUSES = ("investigating", "identified", "monitoring")
UPDATE_STATUSES = ("investigating", "identified", "monitoring", "resolved")
IMPACTS = ("none", "minor", "major", "critical")
Json = dict[str, Any]


def _object(raw: bytes, allowed: tuple[str, ...]) -> Json:
    try:
        data: Any = orjson.loads(raw) if raw.strip() else {}
    except orjson.JSONDecodeError as exc:
        raise BadRequest("malformed_json", f"request body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BadRequest("invalid_body", "request body must be a JSON object")
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise BadRequest(
            "unknown_field",
            f"unknown field(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}",
        )
    return data


def _text(data: Json, key: str, limit: int = MAX_TEXT, required: bool = False) -> str | None:
    value = data.get(key)
    if value is None:
        if required:
            raise BadRequest("invalid_field", f"{key}: required, a non-empty string")
        return None
    if not isinstance(value, str) or not value.strip():
        raise BadRequest("invalid_field", f"{key}: a non-empty string")
    if len(value) > limit:
        raise BadRequest("invalid_field", f"{key}: at most {limit} characters")
    return value.strip() if limit == MAX_NAME else value


def _choice(data: Json, key: str, allowed: tuple[str, ...]) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or value not in allowed:
        raise BadRequest("invalid_field", f"{key}: must be one of {', '.join(allowed)}")
    return value


def _declared(data: Json) -> tuple[tuple[str, ComponentStatus], ...] | None:
    """`components`: {"billing": "partial_outage", ...}."""
    value = data.get("components")
    if value is None:
        return None
    statuses = tuple(s.value for s in ComponentStatus)
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v in statuses for k, v in value.items()
    ):
        raise BadRequest(
            "invalid_field",
            f"components: an object of component id to status ({', '.join(statuses)})",
        )
    return tuple((k, ComponentStatus(v)) for k, v in value.items())


def _ids(data: Json, key: str) -> tuple[str, ...] | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise BadRequest("invalid_field", f"{key}: a non-empty list of component ids")
    return tuple(dict.fromkeys(value))


def _time(data: Json, key: str) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    try:
        if not isinstance(value, str):
            raise ValueError
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(
            "invalid_field", f"{key}: an RFC 3339 time with offset, such as 2026-06-01T22:00:00Z"
        ) from None
    if moment.tzinfo is None:
        raise BadRequest("invalid_field", f"{key}: give the UTC offset (Z or +02:00)")
    return moment.timestamp()


def _enum_or_none(kind: type[Impact] | type[IncidentStatus], value: str | None) -> Any:
    return None if value is None else kind(value)


# -- request bodies -> commands ---------------------------------------------------------


def open_incident(data: Json, _: str) -> cmd.Command:
    template = _text(data, "template", MAX_NAME)
    return cmd.OpenIncident(
        name=_text(data, "name", MAX_NAME, required=template is None),
        body=_text(data, "body", required=template is None),
        components=_declared(data),
        status=_enum_or_none(IncidentStatus, _choice(data, "status", OPEN_STATUSES)),
        impact=_enum_or_none(Impact, _choice(data, "impact", IMPACTS)),
        template=template,
    )


def edit_incident(data: Json, ident: str) -> cmd.Command:
    edit = cmd.EditIncident(
        incident_id=ident,
        name=_text(data, "name", MAX_NAME),
        impact=_enum_or_none(Impact, _choice(data, "impact", IMPACTS)),
        components=_declared(data),
        status=_enum_or_none(IncidentStatus, _choice(data, "status", UPDATE_STATUSES)),
        body=_text(data, "body"),
    )
    if all(v is None for k, v in vars_of(edit).items() if k != "incident_id"):
        raise BadRequest(
            "invalid_body", "nothing to change: give name, impact, components, status or body"
        )
    return edit


def vars_of(value: Any) -> dict[str, Any]:
    return {k: getattr(value, k) for k in value.__slots__}


def postmortem(data: Json, ident: str) -> cmd.Command:
    body = _text(data, "body", required=True)
    assert body is not None
    return cmd.PostMortem(ident, body)


def schedule(data: Json, _: str) -> cmd.Command:
    name = _text(data, "name", MAX_NAME, required=True)
    components = _ids(data, "components")
    starts, ends = _time(data, "starts_at"), _time(data, "ends_at")
    if name is None or components is None or starts is None or ends is None:
        raise BadRequest("invalid_field", "name, components, starts_at and ends_at are required")
    return cmd.ScheduleMaintenance(name, components, starts, ends, _text(data, "description"))


def change(data: Json, ident: str) -> cmd.Command:
    edit = cmd.ChangeMaintenance(
        ident,
        _text(data, "name", MAX_NAME),
        _ids(data, "components"),
        _time(data, "starts_at"),
        _time(data, "ends_at"),
        _text(data, "description"),
    )
    if all(v is None for k, v in vars_of(edit).items() if k != "maintenance_id"):
        raise BadRequest(
            "invalid_body",
            "nothing to change: give name, components, starts_at, ends_at or description",
        )
    return edit


def cancel(data: Json, ident: str) -> cmd.Command:
    return cmd.EndMaintenance(ident, cancel=True)


def complete(data: Json, ident: str) -> cmd.Command:
    return cmd.EndMaintenance(ident, cancel=False)


Parse = Callable[[Json, str], cmd.Command]
INCIDENT_FIELDS = ("name", "body", "components", "status", "impact", "template")
MAINTENANCE_FIELDS = ("name", "components", "starts_at", "ends_at", "description")
# (method, path, parser, allowed fields, id key, success status)
ROUTES: list[tuple[str, str, Parse, tuple[str, ...], str, int]] = [
    ("POST", "/api/prober/v1/incidents", open_incident, INCIDENT_FIELDS, "", 201),
    (
        "PATCH",
        "/api/prober/v1/incidents/{id}",
        edit_incident,
        ("name", "body", "components", "status", "impact"),
        "id",
        200,
    ),
    ("POST", "/api/prober/v1/incidents/{id}/postmortem", postmortem, ("body",), "id", 201),
    ("POST", "/api/prober/v1/maintenances", schedule, MAINTENANCE_FIELDS, "", 201),
    ("PATCH", "/api/prober/v1/maintenances/{id}", change, MAINTENANCE_FIELDS, "id", 200),
    ("POST", "/api/prober/v1/maintenances/{id}/cancel", cancel, (), "id", 200),
    ("POST", "/api/prober/v1/maintenances/{id}/complete", complete, (), "id", 200),
]


def _window(w: Window) -> MaintenanceWindow:
    return MaintenanceWindow(w.id, w.name, w.components, w.starts_at, w.ends_at, w.description)


def handler(
    backend_of: Callable[[web.Request], ApiBackend],
    parse: Parse,
    allowed: tuple[str, ...],
    id_key: str,
    ok: int,
) -> Callable[[web.Request], Any]:
    async def handle(request: web.Request) -> web.StreamResponse:
        backend = backend_of(request)
        denied = check_auth(request, backend.write_token())
        if denied is not None:
            return denied
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            return error_json(413, "too_large", f"request body over {MAX_BODY_BYTES} bytes")
        raw = await request.content.read(MAX_BODY_BYTES + 1)
        if len(raw) > MAX_BODY_BYTES:
            return error_json(413, "too_large", f"request body over {MAX_BODY_BYTES} bytes")
        ident = request.match_info.get(id_key, "") if id_key else ""
        try:
            command = parse(_object(raw, allowed), ident)
            result = await backend.command(command)
        except BadRequest as exc:
            return error_json(400, exc.code, exc.message)
        except StoreError as exc:
            if isinstance(exc, NotLeaderError):  # several replicas: the leader writes
                response = error_json(503, "not_leader", str(exc))
                response.headers["Retry-After"] = "1"
            else:
                response = error_json(503, "store_unavailable", str(exc))
                response.headers["Retry-After"] = "30"
            return response
        except cmd.UnknownName as exc:
            return error_json(422, "unknown_reference", str(exc))
        except KeyError:
            what = "maintenance" if "maintenances" in request.path else "incident"
            return error_json(404, "not_found", f"no {what} with id {ident!r}")
        except ValueError as exc:
            return error_json(409, "conflict", str(exc))
        snap, _, _ = linked(request, backend.snapshot())
        payload: Json
        if isinstance(result, Incident):
            payload = {"incident": incident_json(result, snap)}
        else:
            payload = {"scheduled_maintenance": maintenance_json(_window(result), snap)}
        return web.Response(
            status=ok, body=dumps(payload), headers={"Content-Type": "application/json"}
        )

    return handle


def add_routes(app: web.Application, backend_of: Callable[[web.Request], ApiBackend]) -> None:
    for method, path, parse, allowed, id_key, ok in ROUTES:
        app.router.add_route(method, path, handler(backend_of, parse, allowed, id_key, ok))
