
# Fill the sandbox's /tmp and /dev/shm (64 MB per file: the file-size rlimit) until they are full.
_chunk = b"\0" * (1 << 20)
for _folder in ("/tmp", "/dev/shm"):
    _i = 0
    while _i < 64:
        try:
            with open(f"{_folder}/fill{_i}", "wb") as _f:
                for _ in range(63):
                    _f.write(_chunk)
        except OSError:
            break
        _i += 1
