"""The egress policy at connect time: every address a probe is about to connect to, for
the target and for every redirect hop, is checked against the check's `egress` setting.

The lean client filters the resolved addresses before Happy Eyeballs starts; aiohttp's
connector asks `socket_factory` for each attempt, which refuses an address outside the
policy of the probe running in that task (`current_egress`). A refusal is an
`EgressRefused` OSError, so the probe fails as `connect` with a detail that says why.
"""

from __future__ import annotations

import ipaddress
import socket
from contextvars import ContextVar
from typing import Any

from prober.config.model import EgressPolicy

current_egress: ContextVar[EgressPolicy | None] = ContextVar("current_egress", default=None)


class EgressRefused(OSError):
    """An address the egress policy does not permit."""

    def __init__(self, ip: str) -> None:
        super().__init__(f"{ip} is outside the egress policy")
        self.ip = ip

    def __str__(self) -> str:
        return f"{self.ip} is outside the egress policy"


def permitted(policy: EgressPolicy | None, ip: str) -> bool:
    if policy is None:
        return True
    try:
        address = ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return False
    return policy.permits(address)


def socket_factory(addr_info: tuple[Any, ...]) -> socket.socket:
    """aiohttp's socket factory: a plain TCP socket, unless the address is refused."""
    family, type_, proto, _, sockaddr = addr_info
    if not permitted(current_egress.get(), str(sockaddr[0])):
        raise EgressRefused(str(sockaddr[0]))
    return socket.socket(family=family, type=type_, proto=proto)
