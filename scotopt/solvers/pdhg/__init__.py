"""Restarted Halpern PDHG with reflection for LP (the PDLP / cuPDLPx family)."""
