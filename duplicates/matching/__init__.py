"""Record linkage for nominals: find the same person entered twice (Fellegi-Sunter + EM)."""

from .engine import Evidence, Matcher, Pair, Record, find_duplicates

__all__ = ["Evidence", "Matcher", "Pair", "Record", "find_duplicates"]
