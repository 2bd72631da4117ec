"""Helpers for scripts/build_reference_data.py (Bazhong reference dataset)."""
