"""The weight-loading code of `solutions/cnn_rnn/weights.py`, through the real torchvision and
open_clip loading paths (their caches and local checkpoint files, no network needed).

The two "offline" tests assert a fast WeightsUnavailable; on a machine that can reach the download
host they are skipped, because there a download is the right behaviour.
"""

from __future__ import annotations

import os
import socket
import time

import pytest
import torch
from torchvision.models import MobileNet_V2_Weights, ResNet50_Weights, mobilenet_v2, resnet50

import solutions.cnn_rnn.weights as W

FAST_FAIL_SECONDS = 15.0  # observed: 0.4 s (torchvision, DNS fails at once), 2.5 s (open_clip, model build included)


def _reachable(host: str) -> bool:
    try:
        with socket.create_connection((host, 443), timeout=2.0):
            return True
    except OSError:
        return False


@pytest.fixture
def empty_torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    return tmp_path / "hub" / "checkpoints"


def test_mobilenet_v2_real_imagenet_weights_from_the_seeded_cache() -> None:
    enum = MobileNet_V2_Weights.IMAGENET1K_V1
    path = W.checkpoint_dir() / os.path.basename(enum.url)
    assert path.name == "mobilenet_v2-b0353104.pth"
    assert path.exists(), f"{path} is missing: run `python -m autograder.assets` to seed the cache"
    model = W.load_torchvision("mobilenet_v2", "IMAGENET1K_V1").eval()
    official = mobilenet_v2(weights=enum).eval()
    for (name, a), b in zip(model.state_dict().items(), official.state_dict().values()):
        assert torch.equal(a, b), name
    # Real ImageNet weights recognise skimage's cat photo as a cat (ImageNet classes 281-285).
    from PIL import Image
    from skimage.data import chelsea

    x = enum.transforms()(Image.fromarray(chelsea())).unsqueeze(0)
    with torch.no_grad():
        top = model(x).softmax(dim=1)[0].topk(1)
    assert 281 <= int(top.indices) <= 285 and float(top.values) > 0.3, enum.meta["categories"][int(top.indices)]


def test_resnet50_missing_offline_fails_fast_with_file_and_directory(empty_torch_home) -> None:
    if _reachable("download.pytorch.org"):
        pytest.skip("download.pytorch.org is reachable: torchvision would (rightly) download")
    started = time.monotonic()
    with pytest.raises(W.WeightsUnavailable) as info:
        W.load_torchvision("resnet50", "IMAGENET1K_V2")
    elapsed = time.monotonic() - started
    message = str(info.value)
    assert "resnet50-11ad3fa6.pth" in message
    assert str(empty_torch_home) in message
    assert ResNet50_Weights.IMAGENET1K_V2.url in message
    assert elapsed < FAST_FAIL_SECONDS, f"took {elapsed:.1f} s"
    assert not any(empty_torch_home.glob("*.pth")), "no partial checkpoint may be left behind"


def test_unknown_weights_tag_lists_the_options() -> None:
    with pytest.raises(W.WeightsUnavailable, match="IMAGENET1K_V2"):
        W.load_torchvision("resnet50", "IMAGENET1K_V9")


def test_resnet50_checkpoint_in_the_cache_is_loaded(empty_torch_home) -> None:
    torch.manual_seed(0)
    saved = resnet50()
    empty_torch_home.mkdir(parents=True)
    torch.save(saved.state_dict(), empty_torch_home / os.path.basename(ResNet50_Weights.IMAGENET1K_V2.url))
    assert W.weights_file("resnet50", "IMAGENET1K_V2") == empty_torch_home / "resnet50-11ad3fa6.pth"

    loaded = W.load_torchvision("resnet50", "IMAGENET1K_V2").eval()
    for (name, a), b in zip(loaded.state_dict().items(), saved.state_dict().values()):
        assert torch.equal(a, b), name
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), saved.eval()(x))


TINY_CLIP = {  # a registered open_clip config, small enough to build in milliseconds
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "patch_size": 8},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}


def test_open_clip_local_checkpoint_round_trip(tmp_path) -> None:
    import json

    import open_clip

    (tmp_path / "tiny-clip-test.json").write_text(json.dumps(TINY_CLIP))
    open_clip.add_model_config(tmp_path / "tiny-clip-test.json")
    torch.manual_seed(0)
    saved = open_clip.create_model("tiny-clip-test", pretrained=None).eval()
    path = tmp_path / "tiny_clip.pt"
    torch.save(saved.state_dict(), path)

    model, preprocess, tokenizer = W.load_clip("tiny-clip-test", pretrained=str(path))
    assert not model.training
    torch.manual_seed(1)  # a fresh random init would differ: equal outputs mean the file was loaded
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(model.encode_image(x), saved.encode_image(x))
        text = tokenizer(["a photo of a cat"])
        torch.testing.assert_close(model.encode_text(text), saved.encode_text(text))
        fresh = open_clip.create_model("tiny-clip-test", pretrained=None).eval()
        assert not torch.allclose(fresh.encode_image(x), saved.encode_image(x))

    # open_clip loads strictly: a checkpoint with a missing tensor is an error, not silent random init.
    broken = saved.state_dict()
    broken.pop("visual.proj")
    torch.save(broken, tmp_path / "broken.pt")
    with pytest.raises(RuntimeError, match="visual.proj"):
        W.load_clip("tiny-clip-test", pretrained=str(tmp_path / "broken.pt"))


def _clip_weights_cached(repo: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    names = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")
    return any(isinstance(try_to_load_from_cache(repo, name), str) for name in names)


def test_open_clip_tag_offline_is_fast() -> None:
    """Offline: a clear WeightsUnavailable within seconds, or, with the weights in the Hub cache, the model."""
    if _reachable("huggingface.co"):
        pytest.skip("huggingface.co is reachable: open_clip would (rightly) download")
    cached = _clip_weights_cached("laion/CLIP-ViT-B-32-laion2B-s34B-b79K")
    started = time.monotonic()
    if cached:
        model, _, _ = W.load_clip("ViT-B-32", "laion2b_s34b_b79k")
        assert not model.training
    else:
        with pytest.raises(W.WeightsUnavailable) as info:
            W.load_clip("ViT-B-32", "laion2b_s34b_b79k")
        message = str(info.value)
        assert "ViT-B-32" in message and "laion2b_s34b_b79k" in message and "pretrained=" in message
    elapsed = time.monotonic() - started
    assert elapsed < FAST_FAIL_SECONDS, f"took {elapsed:.1f} s: network retries?"
