"""Benchmark model tracked by django-pghistory (comparator only, PostgreSQL)."""
