"""Pytest suites: `hidden/` decides grades (never shipped), `public/` is the students' self-check."""
