"""Deciding: each finding gets a verdict and the rule that made it (the configuration model lives in monitor.config)."""
