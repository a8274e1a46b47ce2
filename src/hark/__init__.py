"""hark: train keyword-spotting models and find out, with evidence, why they fail."""

__version__ = "0.1.0"
