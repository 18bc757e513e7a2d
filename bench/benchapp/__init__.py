"""Benchmark models: a model tracked by history_core and an identical untracked one."""
