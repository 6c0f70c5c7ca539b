%matplotlib inline
# 找到你的作业代码（cnn_rnn/ 文件夹）并把它注册为包 `cnn_rnn`。
import os
import sys
import types
from pathlib import Path

import matplotlib.pyplot as plt
import torch


def find_code(required: str = "{file}") -> Path:
    """$CNN_RNN_CODE，否则 notebook 旁边的 ./cnn_rnn（nbgrader）或 ../cnn_rnn（学生包、仓库）。"""
    env = os.environ.get("CNN_RNN_CODE")
    candidates = [Path(env)] if env else [Path.cwd() / "cnn_rnn", Path.cwd().parent / "cnn_rnn"]
    for folder in candidates:
        if (folder / required).is_file():
            return folder.resolve()
    raise FileNotFoundError(
        f"找不到 {{required}}（查找了 {{', '.join(map(str, candidates))}}）。"
        "请在 notebooks/ 文件夹里打开本 notebook，或设置环境变量 CNN_RNN_CODE 指向你的 cnn_rnn 文件夹。"
    )


torch.set_num_threads(1)  # the cells are small: one thread is fastest on a busy machine
CODE = find_code()
package = types.ModuleType("cnn_rnn")
package.__path__ = [str(CODE)]  # any folder name works: the package is found through __path__
sys.modules["cnn_rnn"] = package
print("作业代码:", CODE)
