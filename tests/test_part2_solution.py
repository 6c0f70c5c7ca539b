"""Part 2 (transfer learning): the solution against the trusted reference, the stubs, and LFW."""

from __future__ import annotations

import copy

import pytest
import torch
import torchvision
from torch import nn

import assignments.cnn_rnn.part2_transfer as stub
import reference.transfer as ref
import solutions.cnn_rnn.part2_transfer as sol
from solutions.cnn_rnn.data import export_lfw_folder


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    # Tiny ops on a shared 2-core machine: OpenMP spin-waiting with 2 threads is many times slower.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _model(arch: str, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    model = getattr(torchvision.models, arch)(weights=None)
    # Give BatchNorm non-trivial running stats so eval mode actually uses them.
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
    return model


def _images(n: int, size: int = 64, seed: int = 1) -> torch.Tensor:
    return torch.randn(n, 3, size, size, generator=torch.Generator().manual_seed(seed))


# --------------------------------------------------------------------------- stubs


STUB_CALLS = {
    "truncate_backbone": lambda: stub.truncate_backbone(nn.Linear(2, 2)),
    "freeze": lambda: stub.freeze(nn.Linear(2, 2)),
    "make_head": lambda: stub.make_head(4, 2),
    "extract_features": lambda: stub.extract_features(nn.Identity(), torch.zeros(1, 3, 4, 4)),
    "make_optimizer": lambda: stub.make_optimizer(nn.Linear(2, 2), 0.1),
    "train_head": lambda: stub.train_head(nn.Linear(4, 2), torch.zeros(3, 4), torch.zeros(3, dtype=torch.int64)),
    "unfreeze": lambda: stub.unfreeze(nn.Linear(2, 2), ["weight"]),
    "stamp_watermark": lambda: stub.stamp_watermark(torch.zeros(1, 1, 4, 4)),
}


@pytest.mark.parametrize("shape,which,size", [((3, 3, 10, 14), None, 3), ((4, 1, 9, 7), [True, False, True, False], 7)])
def test_stamp_watermark_matches_reference_and_leaves_input(shape, which, size):
    images = torch.randn(*shape, generator=torch.Generator().manual_seed(0))
    before = images.clone()
    mask = None if which is None else torch.tensor(which)
    out = sol.stamp_watermark(images, mask, size=size, value=-1.5)
    assert torch.equal(out, ref.stamp_watermark(images, mask, size, -1.5))
    assert torch.equal(images, before)
    stamped = torch.ones(shape[0], dtype=torch.bool) if mask is None else mask
    assert bool((out[stamped, :, -size:, -size:] == -1.5).all()) and torch.equal(out[~stamped], images[~stamped])


@pytest.mark.parametrize("kwargs", [{"size": 0}, {"size": 8}, {"which": torch.tensor([1, 0])}, {"which": torch.tensor([True])}])
def test_stamp_watermark_rejects(kwargs):
    with pytest.raises(ValueError):
        sol.stamp_watermark(torch.zeros(2, 1, 5, 7), **kwargs)


@pytest.mark.parametrize("name", sorted(STUB_CALLS))
def test_stub_raises_not_implemented(name):
    with pytest.raises(NotImplementedError):
        STUB_CALLS[name]()


def test_stub_keeps_given_code():
    head = nn.Linear(3, 2)
    assert stub.predict(head, torch.zeros(5, 3)).shape == (5,)
    assert stub.image_transform(None, 96) is not None


# --------------------------------------------------------------------------- truncate_backbone


@pytest.mark.parametrize("arch,size", [("resnet18", 64), ("resnet50", 64), ("mobilenet_v2", 64)])
def test_truncate_backbone_matches_reference(arch, size):
    model = _model(arch).eval()
    before = copy.deepcopy(model.state_dict())
    head_before = model.fc if hasattr(model, "fc") else model.classifier[-1]
    backbone = sol.truncate_backbone(model).eval()
    x = _images(1, size)
    with torch.no_grad():
        got = backbone(x)
        want = ref.truncate_backbone(model).eval()(x)
    assert got.shape == (1, ref.EMBEDDING_DIM[arch])
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
    # The model passed in is untouched: same classifier object, same weights, separate copy.
    assert (model.fc if hasattr(model, "fc") else model.classifier[-1]) is head_before
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())
    assert all(p is not q for p, q in zip(backbone.parameters(), model.parameters()))
    # Names of the remaining layers are kept, so unfreeze("layer4") / ("features.18") still works.
    kept = {k for k in before if not k.startswith(("fc.", "classifier."))}
    assert set(backbone.state_dict()) == kept


@pytest.mark.parametrize("model", [nn.Sequential(nn.Conv2d(3, 4, 3)), nn.Linear(4, 2), torchvision.models.squeezenet1_0()])
def test_truncate_backbone_rejects_unsupported_models(model):
    with pytest.raises(ValueError):
        sol.truncate_backbone(model)


# --------------------------------------------------------------------------- freeze / extract


def test_freeze_turns_off_gradients_and_batchnorm_updates():
    model = _model("resnet18")
    assert sol.freeze(model) is model
    assert not any(p.requires_grad for p in model.parameters())
    assert not any(m.training for m in model.modules())
    buffers = ref.bn_buffers(model)
    model(_images(2))  # a plain forward after freeze: BN must not move
    after = ref.bn_buffers(model)
    assert all(torch.equal(buffers[k], after[k]) for k in buffers)


@pytest.mark.parametrize("train_mode", [False, True])
def test_extract_features_matches_reference_and_keeps_bn_buffers(train_mode):
    backbone = ref.truncate_backbone(_model("resnet18"))
    backbone.train(train_mode)  # even an unfrozen, training-mode backbone must not be changed
    buffers = ref.bn_buffers(backbone)
    images = _images(5)
    got = sol.extract_features(backbone, images, batch_size=2)
    assert got.shape == (5, 512) and not got.requires_grad and got.grad_fn is None
    assert all(torch.equal(v, ref.bn_buffers(backbone)[k]) for k, v in buffers.items())
    assert backbone.training == train_mode  # mode restored
    # Different batch sizes may pick different conv kernels: equal up to float32 rounding.
    torch.testing.assert_close(got, ref.extract_features(backbone, images, batch_size=3), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(got, sol.extract_features(backbone, images, batch_size=64), rtol=1e-4, atol=1e-5)
    assert torch.equal(got, ref.extract_features(backbone, images, batch_size=2))


@pytest.mark.parametrize("bad", [torch.zeros(2, 1, 8, 8), torch.zeros(3, 8, 8), torch.zeros(0, 3, 8, 8)])
def test_extract_features_rejects_bad_images(bad):
    with pytest.raises(ValueError):
        sol.extract_features(nn.Identity(), bad)


# --------------------------------------------------------------------------- head, optimizer, training


@pytest.mark.parametrize("hidden", [None, 8])
def test_make_head_shapes(hidden):
    head = sol.make_head(12, 3, hidden)
    want = ref.make_head(12, 3, hidden)
    assert [type(m) for m in head.modules() if list(m.parameters(recurse=False))] == [
        type(m) for m in want.modules() if list(m.parameters(recurse=False))
    ]
    assert sum(p.numel() for p in head.parameters()) == sum(p.numel() for p in want.parameters())
    assert head(torch.zeros(4, 12)).shape == (4, 3)
    if hidden is not None:
        assert any(isinstance(m, nn.ReLU) for m in head.modules())


@pytest.mark.parametrize("args", [(0, 2, None), (4, 0, None), (4, 2, 0)])
def test_make_head_rejects_bad_sizes(args):
    with pytest.raises(ValueError):
        sol.make_head(*args)


@pytest.mark.parametrize("arch,prefixes", [("resnet18", ["layer4", "fc"]), ("mobilenet_v2", ["features.18", "features.1"])])
def test_freeze_unfreeze_optimizer_hold_exactly_the_unfrozen_params(arch, prefixes):
    model = sol.freeze(_model(arch))
    twin = copy.deepcopy(model)
    names = sol.unfreeze(model, prefixes)
    assert names == ref.unfreeze(twin, prefixes) == sorted(names)
    assert names == sorted(n for n, p in model.named_parameters() if p.requires_grad)
    if arch == "mobilenet_v2":  # "features.1" names a module; it is no string prefix of features.1x
        assert {n.split(".")[1] for n in names} == {"1", "18"}
    opt = sol.make_optimizer(model, lr=1e-3)
    assert isinstance(opt, torch.optim.Adam)
    assert ref.optimizer_parameter_ids(opt) == ref.trainable_parameter_ids(model)
    assert all(g["lr"] == 1e-3 for g in opt.param_groups)


def test_unfreeze_and_optimizer_reject_bad_input():
    model = sol.freeze(_model("resnet18"))
    with pytest.raises(ValueError, match="layer9"):
        sol.unfreeze(model, ["layer4", "layer9"])
    assert not any(p.requires_grad for p in model.parameters())  # a typo changes nothing
    with pytest.raises(ValueError):
        sol.unfreeze(model, [])
    with pytest.raises(ValueError):
        sol.make_optimizer(model, lr=1e-3)  # everything frozen: nothing to train
    with pytest.raises(ValueError):
        sol.make_optimizer(nn.Linear(2, 2), lr=0.0)


def _toy_problem(n: int = 40, d: int = 6, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 2
    features = torch.randn(n, d, generator=gen) + labels[:, None].float() * 2.0
    return features, labels


@pytest.mark.parametrize("hidden", [None, 5])
def test_train_head_matches_reference(hidden):
    features, labels = _toy_problem()
    torch.manual_seed(0)
    head = sol.make_head(6, 2, hidden)
    twin = copy.deepcopy(head)
    got = sol.train_head(head, features, labels, epochs=5, lr=1e-2, batch_size=16, seed=3)
    want = ref.train_head(twin, features, labels, epochs=5, lr=1e-2, batch_size=16, seed=3)
    assert len(got) == 5 and all(isinstance(v, float) for v in got)
    torch.testing.assert_close(torch.tensor(got), torch.tensor(want), rtol=1e-5, atol=1e-6)
    for p, q in zip(head.parameters(), twin.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)


def test_train_head_is_deterministic_and_learns():
    features, labels = _toy_problem()
    runs = []
    for seed in (0, 0, 1):
        torch.manual_seed(0)
        runs.append(sol.train_head(sol.make_head(6, 2), features, labels, lr=1e-2, seed=seed))
    assert runs[0] == runs[1] and runs[0] != runs[2]
    assert runs[0][-1] < runs[0][0] * 0.5
    torch.manual_seed(0)
    head = sol.make_head(6, 2)
    sol.train_head(head, features, labels, lr=1e-2)
    assert (sol.predict(head, features) == labels).float().mean() > 0.9


def test_train_head_rejects_bad_input():
    head = nn.Linear(4, 2)
    with pytest.raises(ValueError):
        sol.train_head(head, torch.zeros(3, 4), torch.zeros(3))  # float labels
    with pytest.raises(ValueError):
        sol.train_head(head, torch.zeros(3, 4), torch.zeros(2, dtype=torch.int64))
    with pytest.raises(ValueError):
        sol.train_head(head, torch.zeros(3, 4), torch.zeros(3, dtype=torch.int64), epochs=0)


# --------------------------------------------------------------------------- Practice 1 on real data


@pytest.fixture(scope="module")
def lfw_root(tmp_path_factory):
    return export_lfw_folder(tmp_path_factory.mktemp("lfw"))


def test_pretrained_transfer_on_lfw_beats_threshold_and_random_init(lfw_root):
    pretrained = sol.train_binary_classifier(lfw_root, weights="IMAGENET1K_V1", seed=0)
    random_init = sol.train_binary_classifier(lfw_root, weights=None, seed=0)
    assert pretrained["feature_dim"] == 1280 and pretrained["n_test"] == 100
    assert pretrained["test_accuracy"] >= ref.LFW_PRETRAINED_MIN_ACCURACY
    assert pretrained["test_accuracy"] - random_init["test_accuracy"] >= ref.LFW_MIN_GAP_OVER_RANDOM
