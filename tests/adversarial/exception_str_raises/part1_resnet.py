class Nasty(Exception):
    def __str__(self):
        raise RuntimeError("cannot print me")


def projection_shortcut(in_planes, out_planes, stride=1):
    raise Nasty()
