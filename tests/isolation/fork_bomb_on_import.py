
import os as _os

# Fill the sandbox's process cap; the processes are still dying when the next submission starts
# unless the fork server waits for them (a regression: the next student lost every check).
while True:
    try:
        _os.fork()
    except OSError:
        pass
