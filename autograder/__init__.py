"""Trusted grader for the module 6 (CNN and RNN) exercises."""

__version__ = "0.1.0"
