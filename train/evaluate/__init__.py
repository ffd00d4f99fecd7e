"""Evaluation: metrics (metrics.py), significance tests and fold aggregation (stats.py), markdown report."""
