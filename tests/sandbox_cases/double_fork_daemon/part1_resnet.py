import os


def projection_shortcut(in_planes, out_planes, stride=1):
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execvp("sleep", ["sleep", "4242.5"])
        os._exit(0)
    raise RuntimeError("blocked? a daemon was started")
