"""What the PyTorch comparisons share: finding an interpreter with PyTorch, and naming the CPU."""
import os
import platform
import sys


def torch_or_exit(script):
    """Imports torch, or re-runs the script with Debian's /usr/bin/python3 (where python3-torch lives;
    a pyenv or venv python lacks it), or says it is missing and exits 0."""
    try:
        import torch
        return torch
    except ImportError:
        system = "/usr/bin/python3"
        if os.path.exists(system) and os.path.realpath(sys.executable) != os.path.realpath(system):
            os.execv(system, [system] + sys.argv)
        print(f"{script}: PyTorch is not installed here (Debian: apt-get install python3-torch); nothing to compare.")
        sys.exit(0)


def cpu_model():
    """The CPU's model name, as /proc/cpuinfo gives it."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"
