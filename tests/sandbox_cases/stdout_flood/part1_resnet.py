import sys


def projection_shortcut(in_planes, out_planes, stride=1):
    block = "x" * (1 << 20)
    for _ in range(10 * 1024):  # 10 GB
        sys.stdout.write(block)
    raise RuntimeError("LEAK wrote 10 GB")
