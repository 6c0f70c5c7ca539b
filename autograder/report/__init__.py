"""Renderers: every output is a view of `autograder.results` (no renderer grades anything)."""
