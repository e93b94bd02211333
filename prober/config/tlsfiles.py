"""The TLS files a config names, read and parsed as the probes will load them.

`parse_config` stays pure unless asked; `load_config` (check-config, start, reload) asks,
so a missing, unreadable or unparsable CA bundle, client certificate or key is an error
with the check's line, not a public "major outage" once probing starts.
"""

from __future__ import annotations

import ssl

from prober.config.model import TLSOptions


def tls_problem(tls: TLSOptions) -> str | None:
    """What is wrong with the TLS files of one check (read and parsed), or None."""
    if (tls.ca_file, tls.cert_file, tls.key_file) == (None, None, None):
        return None
    return _problem(tls.ca_file, tls.cert_file, tls.key_file)


def _problem(ca: str | None, cert: str | None, key: str | None) -> str | None:
    try:
        ctx = ssl.create_default_context()
    except ssl.SSLError as exc:  # pragma: no cover - the system store itself is broken
        return f"cannot create a TLS context: {exc}"
    if ca is not None:
        try:
            ctx.load_verify_locations(cafile=ca)
        except ssl.SSLError as exc:  # before OSError: SSLError is one
            return f"ca_file {ca!r} holds no valid PEM certificate ({exc.reason or exc})"
        except FileNotFoundError:
            return f"ca_file {ca!r} does not exist"
        except OSError as exc:
            return f"ca_file {ca!r} cannot be read ({exc.strerror or exc})"
    if cert is not None:
        try:
            ctx.load_cert_chain(cert, key)
        except ssl.SSLError as exc:
            return (
                f"cert_file {cert!r} / key_file {key!r}: not a valid PEM certificate and "
                f"matching private key ({exc.reason or exc})"
            )
        except FileNotFoundError as exc:
            return f"cert_file/key_file not found ({exc.filename or cert!r})"
        except OSError as exc:
            return f"cert_file {cert!r} or key_file {key!r} cannot be read ({exc.strerror or exc})"
    return None
