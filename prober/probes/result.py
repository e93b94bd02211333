"""What one probe request produced. A probe never raises for a target failure.

The types are the domain's (prober/domain/observation.py): the domain judges them and must
not import the probes; re-exported here for the probes that build them.
"""

from __future__ import annotations

from prober.domain.observation import PHASES, ProbeResult, Reason

__all__ = ["PHASES", "ProbeResult", "Reason"]
