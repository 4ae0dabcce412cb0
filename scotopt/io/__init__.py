"""Readers and writers of problem files."""

from scotopt.io.mps import read_mps

__all__ = ["read_mps"]
