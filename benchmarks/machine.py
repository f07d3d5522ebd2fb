"""What a benchmark ran on: the machine's description and its nominal float32 peak."""

import os
import platform

import keras
import tensorflow as tf

def machine():
    """CPU model and count, GPUs, TensorFlow and Keras versions, oneDNN setting, load average."""
    model = platform.processor()
    if os.path.exists("/proc/cpuinfo"):
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"cpu": model, "cpus": os.cpu_count(), "gpus": [d.name for d in tf.config.list_physical_devices("GPU")],
            "tensorflow": tf.__version__, "keras": keras.__version__,
            "TF_ENABLE_ONEDNN_OPTS": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "(default: on)"),
            "XLA_FLAGS": os.environ.get("XLA_FLAGS", ""),
            "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None}


def summary_line(started):
    return (f"{started:%Y-%m-%d %H:%M} UTC, {machine()['cpu']}, {os.cpu_count()} CPUs, "
            f"TensorFlow {tf.__version__}, Keras {keras.__version__}, load average "
            + " ".join(f"{x:.1f}" for x in os.getloadavg()))


def nominal_peak():
    """(FLOP/s, how it was derived) of float32 FMA on every core, or (None, reason) off Linux x86."""
    if not os.path.exists("/proc/cpuinfo"):
        return None, "no /proc/cpuinfo"
    info = {}
    for line in open("/proc/cpuinfo"):
        if ":" in line:
            key, value = (part.strip() for part in line.split(":", 1))
            info.setdefault(key, value)
    flags = set(info.get("flags", "").split())
    vendor, family = info.get("vendor_id", ""), int(info.get("cpu family", 0) or 0)
    if "avx512f" in flags and vendor == "GenuineIntel":
        per_cycle, why = 64, "2 AVX-512 FMA units x 16 lanes x 2"
    elif "avx512f" in flags or ("avx2" in flags and "fma" in flags):
        # AMD Zen 4 runs AVX-512 on two 256-bit FMA pipes, the same rate as AVX2 with FMA.
        per_cycle, why = 32, "2 FMA pipes x 8 float32 lanes x 2"
    else:
        per_cycle, why = 8, "SSE: 4 lanes x (add + mul)"
    # BogoMIPS is twice the TSC (base) clock on x86; boost clocks are not visible under a hypervisor.
    megahertz = float(info.get("bogomips", 0)) / 2 or float(info.get("cpu MHz", 0))
    if not megahertz:
        return None, "no clock in /proc/cpuinfo"
    cores = os.cpu_count()
    return cores * megahertz * 1e6 * per_cycle, (
        f"{cores} cores x {megahertz / 1000:.2f} GHz (base) x {per_cycle} FLOP/cycle ({why}; "
        f"vendor {vendor}, family {family})")
