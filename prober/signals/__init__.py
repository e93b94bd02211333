"""Signals besides probes: real-traffic 5xx shares from Prometheus (traffic.py)."""
