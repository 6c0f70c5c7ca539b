"""How worker processes start, on the trusted side.

`settings` (limits, rlimits, environment), `sandbox` (bubblewrap arguments, pids cgroup),
`base` (the Launcher interface and MachineryFault), `direct` (a fresh interpreter per worker),
`forked` (workers forked from a warm fork server) and `worker` (the Worker client: deadlines,
crash budget, framing).
"""
