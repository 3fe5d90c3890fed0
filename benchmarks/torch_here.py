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


# OpenBLAS 0.3.21's cores that predate AVX2: on a CPU it does not know (Intel's Emerald Rapids is
# taken for a Prescott) it falls back to one of these, and PyTorch's Linear layers run on SSE3.
_OLD_OPENBLAS_CORES = {"Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Atom", "Sandybridge", "Barcelona",
                       "Bobcat", "Bulldozer", "Piledriver", "Steamroller", "Excavator", "Katmai", "Coppermine",
                       "Northwood", "Banias", "Opteron", "Opteron_SSE3"}


def openblas_environment():
    """(variables, line): OPENBLAS_CORETYPE naming OpenBLAS's best core for this CPU where its own
    detection chose one without AVX2, so that PyTorch is measured at its best; empty elsewhere or
    when the variable is already set. With TESSERA_ISA=avx2 (Tessera held to AVX2, e.g. to stand in
    for a CPU without AVX-512), PyTorch is held to AVX2 as well: its BLAS, oneDNN and ATen kernels.
    The line says what was chosen, for the top of the output."""
    import ctypes
    if os.environ.get("TESSERA_ISA") == "avx2":
        held = {"OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "Haswell"),
                "ONEDNN_MAX_CPU_ISA": os.environ.get("ONEDNN_MAX_CPU_ISA", "AVX2"),
                "ATEN_CPU_CAPABILITY": os.environ.get("ATEN_CPU_CAPABILITY", "avx2")}
        return held, "PyTorch held to AVX2 like Tessera: " + " ".join(f"{k}={v}" for k, v in held.items())
    if "OPENBLAS_CORETYPE" in os.environ:
        return {}, f"OpenBLAS core: OPENBLAS_CORETYPE={os.environ['OPENBLAS_CORETYPE']} (set by the caller)"
    try:
        lib = ctypes.CDLL("libopenblas.so.0")
        lib.openblas_get_corename.restype = ctypes.c_char_p
        core = lib.openblas_get_corename().decode()
    except (OSError, AttributeError):
        return {}, "OpenBLAS core: unknown (libopenblas.so.0 not found)"
    if core not in _OLD_OPENBLAS_CORES:
        return {}, f"OpenBLAS core: {core}"
    flags = set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    break
    except OSError:
        pass
    better = "SkylakeX" if {"avx512f", "avx512bw", "avx512vl", "avx512dq"} <= flags else \
        "Haswell" if {"avx2", "fma"} <= flags else None
    if better is None:
        return {}, f"OpenBLAS core: {core}"
    return {"OPENBLAS_CORETYPE": better}, \
        f"OpenBLAS core: {better} (its own detection chose {core} on this CPU; PyTorch runs with OPENBLAS_CORETYPE={better})"
