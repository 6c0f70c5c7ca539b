"""The untrusted side: a process that imports one submission and answers probe requests."""
