"""The keys each mapping of checks.yaml accepts, and the choices of its enumerated values.

All derived from the one declaration of each setting (prober/config/declared.py and
declared_sections.py), so the reader, the JSON Schema and the docs cannot disagree.
"""

from __future__ import annotations

from prober.config import declared as d
from prober.config import declared_sections as s
from prober.config import declared_top as t
from prober.config.declare import ID_PATTERN, find, names

__all__ = ["ID_PATTERN"]

TOP = names(t.TOP)
PAGE = names(s.PAGE)
# Keys a check may set that `defaults:` may also set.
CHECK_SETTINGS = names(d.CHECK_SETTINGS)
CHECK = names(d.CHECK)
DEFAULTS = names(t.DEFAULTS)
EXPECT = names(d.EXPECT)
JSON_EXPECT = names(find(d.EXPECT, "json").items)
EGRESS = names(d.EGRESS)
TLS = names(d.TLS)
STATUS = names(d.STATUS)
COMPONENT = names(s.COMPONENT)
TRAFFIC = names(s.TRAFFIC)
TRAFFIC_MODES = find(s.TRAFFIC, "mode").choices
MAINTENANCE = names(s.MAINTENANCE)
WEEKLY = names(s.WEEKLY)
INCIDENTS = names(s.INCIDENTS)
INCIDENT_TEMPLATE = names(s.INCIDENT_TEMPLATE)
NETWORK = names(s.NETWORK)
DISTRIBUTED = names(s.DISTRIBUTED)
WEBHOOK = names(s.WEBHOOK)

METHODS = d.METHODS
DAYS = s.DAYS
WEBHOOK_KINDS = find(s.WEBHOOK, "kind").choices
TITLE_FIELDS = s.TITLE_FIELDS
