"""Benchmark model tracked by django-simple-history (comparator only)."""
