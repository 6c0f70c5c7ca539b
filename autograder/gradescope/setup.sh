#!/usr/bin/env bash
# Gradescope image build (runs once, as root, with the zip extracted to /autograder/source).
set -euo pipefail
SRC=/autograder/source
VENV=/autograder/venv

apt-get update
apt-get install -y --no-install-recommends python3 python3-venv python3-pip bubblewrap
python3 -m venv "$VENV"
"$VENV/bin/pip" install --upgrade pip
# CPU wheels: the grader and the student code never use a GPU.
"$VENV/bin/pip" install --index-url https://download.pytorch.org/whl/cpu torch torchvision
"$VENV/bin/pip" install -e "$SRC"

# Student code runs as this unprivileged user (Gradescope's security guidance); the grader as root.
id -u student >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin student

# Pretrained weights in a cache every user can read (torchvision downloads them here).
export TORCH_HOME=/autograder/torch
mkdir -p "$TORCH_HOME"
"$VENV/bin/python" -c "import torchvision; torchvision.models.mobilenet_v2(weights='IMAGENET1K_V1')"
chmod -R a+rX "$TORCH_HOME" "$SRC"

# Reference expectations computed once at build time, then the secrets locked to root.
"$VENV/bin/python" -m autograder.gradescope.run --warm
chmod 700 "$SRC/autograder/suites/hidden" "$SRC/reference"
