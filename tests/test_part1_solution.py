"""Part 1 (ResNet): the solution against the trusted reference (torchvision) and the student stubs."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn
from torchvision.models import resnet as tv

import assignments.cnn_rnn.part1_resnet as stub
import reference.resnet as ref
import solutions.cnn_rnn.part1_resnet as sol


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    # Tiny ops on a shared 2-core machine: OpenMP spin-waiting with 2 threads is many times slower.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _randomize_bn(module: nn.Module, seed: int) -> nn.Module:
    """Non-trivial BatchNorm affine params and running stats, so eval mode is not the identity."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.BatchNorm2d):
                n = m.num_features
                m.weight.copy_(torch.rand(n, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(n, generator=gen) * 0.1)
                m.running_mean.copy_(torch.randn(n, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
    return module


def _pair(cls: str, inplanes: int, planes: int, stride: int, seed: int = 0):
    torch.manual_seed(seed)
    reference = _randomize_bn(ref.block(cls, inplanes, planes, stride), seed)
    student = getattr(sol, cls)(inplanes, planes, stride)
    student.load_state_dict(reference.state_dict(), strict=True)
    return student, reference


# --------------------------------------------------------------------------- stubs


STUB_CALLS = {
    "projection_shortcut": lambda: stub.projection_shortcut(8, 16, 2),
    "BasicBlock": lambda: stub.BasicBlock(8, 8),
    "Bottleneck.__init__": lambda: stub.Bottleneck(16, 4),
    "ResNet._make_layer": lambda: stub.ResNet._make_layer(nn.Module(), stub.BasicBlock, 64, 2),
    "receptive_field": lambda: stub.receptive_field([(3, 1)]),
    "DeepNet.forward": lambda: stub.DeepNet(2, 4, residual=False)(torch.zeros(1, 16)),
    "first_layer_grad_norm": lambda: stub.first_layer_grad_norm(
        sol.DeepNet(2, 4, residual=False), torch.zeros(1, 16), torch.zeros(1, 1)
    ),
}


@pytest.mark.parametrize("name", sorted(STUB_CALLS))
def test_stub_raises_not_implemented(name):
    with pytest.raises(NotImplementedError):
        STUB_CALLS[name]()


def test_stub_block_forwards_raise_not_implemented():
    # Built from the solution's constructors, the stub's forward bodies must still be empty.
    basic = sol.BasicBlock(8, 8)
    with pytest.raises(NotImplementedError):
        stub.BasicBlock.forward(basic, torch.zeros(1, 8, 4, 4))
    bottleneck = sol.Bottleneck(16, 4)
    with pytest.raises(NotImplementedError):
        stub.Bottleneck.forward(bottleneck, torch.zeros(1, 16, 4, 4))


def test_stub_keeps_given_code():
    assert stub.conv3x3(4, 8, 2).stride == (2, 2)
    assert stub.BasicBlock.expansion == 1 and stub.Bottleneck.expansion == 4


# --------------------------------------------------------------------------- projection shortcut


@pytest.mark.parametrize("in_planes,out_planes,stride", [(16, 16, 1), (8, 16, 1), (16, 16, 2), (8, 32, 2)])
def test_projection_shortcut_matches_torchvision(in_planes, out_planes, stride):
    got = sol.projection_shortcut(in_planes, out_planes, stride)
    want = ref.projection_shortcut(in_planes, out_planes, stride)
    if want is None:
        assert got is None
        return
    assert [type(m) for m in got] == [nn.Conv2d, nn.BatchNorm2d]
    assert got[0].bias is None and got[0].kernel_size == (1, 1) and got[0].stride == (stride, stride)
    _randomize_bn(want, 1)
    got.load_state_dict(want.state_dict(), strict=True)
    x = torch.randn(2, in_planes, 6, 6)
    assert torch.equal(got.eval()(x), want.eval()(x))


@pytest.mark.parametrize("args", [(0, 4, 1), (4, 4, 0), (4, -1, 1)])
def test_projection_shortcut_rejects_bad_sizes(args):
    with pytest.raises(ValueError):
        sol.projection_shortcut(*args)


# --------------------------------------------------------------------------- blocks


BLOCK_CASES = [
    ("BasicBlock", 16, 16, 1),  # identity block
    ("BasicBlock", 8, 16, 2),  # projection block: channels and resolution change
    ("BasicBlock", 8, 16, 1),  # projection block: channels only
    ("Bottleneck", 64, 16, 1),  # identity block (64 == 16 * 4)
    ("Bottleneck", 32, 16, 2),  # projection block
]


@pytest.mark.parametrize("cls,inplanes,planes,stride", BLOCK_CASES)
def test_block_state_dict_matches_torchvision(cls, inplanes, planes, stride):
    student, reference = _pair(cls, inplanes, planes, stride)
    assert {k: v.shape for k, v in student.state_dict().items()} == {
        k: v.shape for k, v in reference.state_dict().items()
    }
    assert student.stride == stride


@pytest.mark.parametrize("train", [False, True])
@pytest.mark.parametrize("cls,inplanes,planes,stride", BLOCK_CASES)
def test_block_forward_backward_matches_torchvision(cls, inplanes, planes, stride, train):
    student, reference = _pair(cls, inplanes, planes, stride)
    student.train(train)
    reference.train(train)
    x = torch.randn(2, inplanes, 8, 8, generator=torch.Generator().manual_seed(3))
    xs, xr = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    out_s, out_r = student(xs), reference(xr)
    assert out_s.shape == (2, planes * sol.__dict__[cls].expansion, 8 // stride, 8 // stride)
    torch.testing.assert_close(out_s, out_r, rtol=0, atol=0)
    grad_out = torch.randn(out_r.shape, generator=torch.Generator().manual_seed(4))
    out_s.backward(grad_out)
    out_r.backward(grad_out)
    torch.testing.assert_close(xs.grad, xr.grad, rtol=1e-6, atol=1e-6)
    for (name, ps), (_, pr) in zip(student.named_parameters(), reference.named_parameters()):
        torch.testing.assert_close(ps.grad, pr.grad, rtol=1e-5, atol=1e-5, msg=name)
    # In train mode BatchNorm updates its running stats: the same update on both sides.
    for (name, bs), (_, br) in zip(student.named_buffers(), reference.named_buffers()):
        torch.testing.assert_close(bs, br, rtol=0, atol=0, msg=name)


@pytest.mark.parametrize("cls,inplanes,planes,stride", [("BasicBlock", 2, 4, 2), ("Bottleneck", 8, 2, 1), ("Bottleneck", 4, 2, 2)])
def test_block_gradcheck_float64(cls, inplanes, planes, stride):
    student, _ = _pair(cls, inplanes, planes, stride)
    student = student.double().eval()
    x = torch.randn(1, inplanes, 5, 5, dtype=torch.float64, requires_grad=True)
    # Inputs away from ReLU kinks are what gradcheck needs; a kink would give a spurious failure.
    assert torch.autograd.gradcheck(student, (x,), eps=1e-6, atol=1e-5)


def test_identity_block_passes_gradient_through_skip():
    # With the residual branch zeroed, the block is ReLU(x): d out / d x is 1 where x > 0.
    block = sol.BasicBlock(4, 4)
    nn.init.zeros_(block.bn2.weight)
    nn.init.zeros_(block.bn2.bias)
    x = torch.rand(1, 4, 5, 5) + 0.1
    x.requires_grad_(True)
    block.eval()(x).sum().backward()
    assert torch.equal(x.grad, torch.ones_like(x))


# --------------------------------------------------------------------------- whole ResNets


@pytest.mark.parametrize("name", ["resnet18", "resnet34", "resnet50"])
def test_resnet_loads_torchvision_weights_strictly_and_matches(name):
    torch.manual_seed(0)
    reference = _randomize_bn(ref.resnet(name), 5).eval()
    student = getattr(sol, name)().eval()
    student.load_state_dict(reference.state_dict(), strict=True)
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        got, want = student(x), reference(x)
    assert got.shape == (1, 1000)
    # Same ops in the same order on CPU: bit-identical.
    torch.testing.assert_close(got, want, rtol=0, atol=ref.RESNET_ATOL)


def test_resnet_default_init_matches_torchvision_statistics():
    # Same init scheme as torchvision: kaiming (fan_out) convs, BN weight 1 / bias 0.
    torch.manual_seed(0)
    model = sol.resnet18(num_classes=10)
    assert model.fc.out_features == 10
    assert all(torch.equal(m.weight, torch.ones_like(m.weight)) for m in model.modules() if isinstance(m, nn.BatchNorm2d))
    std = model.layer3[0].conv1.weight.std().item()
    expected = (2.0 / (256 * 9)) ** 0.5  # fan_out = out_channels * k * k
    assert abs(std - expected) / expected < 0.05


def test_make_layer_strides_only_first_block():
    model = sol.ResNet(sol.Bottleneck, [2, 1, 1, 3])
    assert [len(model.layer1), len(model.layer4)] == [2, 3]
    assert model.layer2[0].stride == 2 and model.layer2[0].downsample is not None
    assert model.layer1[0].downsample is not None  # 64 -> 256 channels
    assert all(b.stride == 1 and b.downsample is None for b in model.layer4[1:])
    assert model.inplanes == 2048
    assert model.layer4[0].conv2.stride == (2, 2) and model.layer4[0].conv1.stride == (1, 1)  # v1.5


def test_resnet_rejects_bad_layers():
    with pytest.raises(ValueError):
        sol.ResNet(sol.BasicBlock, [2, 2, 2])
    with pytest.raises(ValueError):
        sol.ResNet(sol.BasicBlock, [2, 0, 2, 2])


# --------------------------------------------------------------------------- receptive field


@pytest.mark.parametrize(
    "layers,expected",
    [
        ([(3, 1)], 3),
        ([(3, 1), (3, 1)], 5),
        ([(3, 1)] * 3, 7),  # three 3x3 convs see as far as one 7x7
        ([(7, 2), (3, 2)], 11),  # ResNet stem: conv1 + maxpool
        ([(2, 2), (2, 2), (2, 2)], 8),
        ([(1, 4), (1, 1)], 1),
    ],
)
def test_receptive_field_known_values(layers, expected):
    assert sol.receptive_field(layers) == expected == ref.receptive_field(layers)


def test_receptive_field_matches_reference_on_random_stacks():
    gen = torch.Generator().manual_seed(0)
    for _ in range(50):
        n = int(torch.randint(1, 8, (1,), generator=gen))
        layers = [(int(k), int(s)) for k, s in torch.randint(1, 6, (n, 2), generator=gen)]
        assert sol.receptive_field(layers) == ref.receptive_field(layers), layers


@pytest.mark.parametrize("layers", [[], [(0, 1)], [(3, 0)], [(3, -1)], [(3,)]])
def test_receptive_field_rejects_bad_input(layers):
    with pytest.raises(ValueError):
        sol.receptive_field(layers)


# --------------------------------------------------------------------------- vanishing gradients


@pytest.mark.parametrize("residual", [False, True])
def test_deep_net_forward_matches_reference(residual):
    params = ref.deep_net_params(depth=6, width=8, seed=3)
    net = sol.DeepNet(6, 8, residual=residual)
    net.load_state_dict(params, strict=True)
    x, y = ref.experiment_inputs(seed=1, batch_size=5)
    torch.testing.assert_close(net(x), ref.deep_net_forward(params, x, residual))
    expected = ref.first_layer_grad_norm(params, x, y, residual)
    assert sol.first_layer_grad_norm(net, x, y) == pytest.approx(expected, rel=1e-5)
    # Gradients are zeroed first: a second call gives the same number, not twice it.
    assert sol.first_layer_grad_norm(net, x, y) == pytest.approx(expected, rel=1e-5)


def test_gradient_norm_experiment_matches_reference_and_shows_vanishing():
    depths = [1, 10, 30, 50]
    got = sol.gradient_norm_experiment(depths, width=32, seed=0)
    want = ref.gradient_norm_experiment(depths, width=32, seed=0)
    assert got["depths"] == depths
    for key in ("plain", "residual"):
        torch.testing.assert_close(torch.tensor(got[key], dtype=torch.float64), torch.tensor(want[key], dtype=torch.float64), rtol=1e-4, atol=0)
    at30 = depths.index(30)
    assert got["residual"][at30] / got["plain"][at30] > ref.VANISHING_MIN_RATIO_DEPTH30
    assert got["plain"][-1] < got["plain"][0] * 1e-6  # plain: vanishes with depth
    assert got["residual"][-1] > got["residual"][0]  # residual: does not


def test_deep_net_variants_share_parameters_for_a_seed():
    a = sol.gradient_norm_experiment([5], seed=7)
    b = sol.gradient_norm_experiment([5], seed=7)
    c = sol.gradient_norm_experiment([5], seed=8)
    assert a == b and a != c


def test_deep_net_rejects_bad_sizes():
    with pytest.raises(ValueError):
        sol.DeepNet(0, 8, residual=True)
    with pytest.raises(ValueError):
        sol.gradient_norm_experiment([])
    with pytest.raises(ValueError):
        sol.first_layer_grad_norm(sol.DeepNet(2, 4, residual=False), torch.zeros(3, 16), torch.zeros(2, 1))


def test_solution_does_not_touch_global_rng():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    sol.gradient_norm_experiment([2], seed=0)
    assert torch.equal(torch.rand(3), expected)


def test_reference_blocks_are_torchvision():
    assert type(ref.block("BasicBlock", 4, 4)) is tv.BasicBlock
    assert copy.deepcopy(ref.block("Bottleneck", 8, 2)).downsample is None
