"""Renderers of a run's LLM spend: terminal, JSON."""
