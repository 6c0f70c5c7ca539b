
import os as _os
import signal as _signal

_os.kill(-1, _signal.SIGKILL)  # every process this user may signal, but ourselves
