"""Probe agents in several locations: they probe a shard of the checks and write each
round to a shared RoundLog; the leader reads the rounds back and merges them by quorum."""
