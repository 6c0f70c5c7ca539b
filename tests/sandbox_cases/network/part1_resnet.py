import socket


def projection_shortcut(in_planes, out_planes, stride=1):
    try:
        socket.create_connection(("1.1.1.1", 53), timeout=2).close()
    except OSError as exc:
        raise RuntimeError(f"blocked {type(exc).__name__}")
    raise RuntimeError("LEAK network reachable")
