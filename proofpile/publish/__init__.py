"""Publishing a build: numbers (`stats`), a Hub dataset card with plots (`card`), and the upload (`publish`)."""

from proofpile.publish.stats import StatsError, compute_stats, render_stats

__all__ = ["StatsError", "compute_stats", "render_stats"]
