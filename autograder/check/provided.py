"""What the grader's environment provides to student code, from this project's own dependencies.

The student commands decide which imports the grader can satisfy from these lists, never from
what happens to be installed on the student's machine. The student bundle ships no
pyproject.toml, so the lists live here; tests/test_student_commands.py checks that DEPENDENCIES
are exactly pyproject.toml's [project].dependencies, and (where installed) that each import
name belongs to its distribution and each entry of REQUIRED_BY is a requirement of its parent.
Besides these: the standard library (`sys.stdlib_module_names`) and the assignment's own package.
"""

from __future__ import annotations

# distribution (pyproject.toml [project].dependencies, normalized) -> the top-level import names it provides
DEPENDENCIES: dict[str, tuple[str, ...]] = {
    "torch": ("torch", "functorch"),
    "torchvision": ("torchvision",),
    "open-clip-torch": ("open_clip",),
    "tqdm": ("tqdm",),
    "numpy": ("numpy",),
    "pillow": ("PIL",),
    "safetensors": ("safetensors",),
    "scikit-image": ("skimage",),
    "scikit-learn": ("sklearn",),
    "snownlp": ("snownlp",),
    "matplotlib": ("matplotlib", "mpl_toolkits", "pylab"),
    "pytest": ("pytest", "_pytest"),
    "nbgrader": ("nbgrader",),
    "nbformat": ("nbformat",),
    "nbclient": ("nbclient",),
    "ipykernel": ("ipykernel",),
    "copydetect": ("copydetect",),
}

# Unconditional requirements of those distributions that a student may reasonably import:
# distribution -> (the dependency above that requires it, its import names).
REQUIRED_BY: dict[str, tuple[str, tuple[str, ...]]] = {
    "scipy": ("scikit-learn", ("scipy",)),
    "joblib": ("scikit-learn", ("joblib",)),
    "networkx": ("torch", ("networkx",)),
    "sympy": ("torch", ("sympy",)),
    "typing-extensions": ("torch", ("typing_extensions",)),
    "jinja2": ("torch", ("jinja2",)),
    "imageio": ("scikit-image", ("imageio",)),
    "packaging": ("scikit-image", ("packaging",)),
    "timm": ("open-clip-torch", ("timm",)),
    "huggingface-hub": ("open-clip-torch", ("huggingface_hub",)),
    "ftfy": ("open-clip-torch", ("ftfy",)),
    "regex": ("open-clip-torch", ("regex",)),
    "ipython": ("ipykernel", ("IPython",)),
}

# The packages the student-facing message names as examples.
COURSE_PACKAGES = "torch、torchvision、numpy"


def import_names() -> frozenset[str]:
    """Top-level module names the grader's environment can import, besides the standard library."""
    names = {n for names in DEPENDENCIES.values() for n in names}
    names |= {n for _, names in REQUIRED_BY.values() for n in names}
    return frozenset(names)
