"""Torch device choice for the NLU components: pure decisions here, torch only where applied."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

logger = logging.getLogger(__name__)

DEVICE_CHOICES = ("auto", "cpu", "cuda")
# Torch CPU threads when the component config sets none (serving processes set 1: on a loaded
# 2-core machine two threads made one e5-small forward ~10x slower; docs/performance.md).
TORCH_THREADS_ENV = "SHOP_TORCH_THREADS"
# Torch CPU threads of a serving forward while it is the process's only message in flight
# (scripts/run_system.py sets it for the Rasa server; unset: always the count above).
IDLE_TORCH_THREADS_ENV = "SHOP_TORCH_THREADS_IDLE"
# Weights of a serving encoder on CPU: "auto" (bfloat16 where the CPU multiplies bfloat16 in
# hardware, else float32), "float32" or "bfloat16" (docs/performance.md, cut 11).
PRECISION_ENV = "SHOP_NLU_PRECISION"
PRECISION_CHOICES = ("auto", "float32", "bfloat16")
# /proc/cpuinfo flags of CPUs with bfloat16 dot-product instructions (oneDNN uses them).
FAST_BFLOAT16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


class DeviceUnavailableError(RuntimeError):
    """Raised when training was asked to run on CUDA but this machine has no usable CUDA."""


@dataclass(frozen=True)
class DevicePlan:
    """Where the model runs and whether CUDA mixed precision is used."""

    device: str
    mixed_precision: bool


def resolve_device(requested: str, cuda_available: bool, strict: bool) -> DevicePlan:
    """Turn the `device` config value into a concrete plan.

    `auto` means CUDA with mixed precision when available, else CPU. `cuda` without CUDA raises
    `DeviceUnavailableError` when `strict` (training: a GPU run silently moving to CPU would take
    hours), and falls back to CPU with a warning otherwise (inference: a model trained on a GPU
    must still serve on a CPU-only host).
    """
    if requested not in DEVICE_CHOICES:
        raise ValueError(f"device must be one of {DEVICE_CHOICES}, got {requested!r}")
    if requested == "cpu":
        return DevicePlan("cpu", mixed_precision=False)
    if cuda_available:
        return DevicePlan("cuda", mixed_precision=True)
    if requested == "cuda":
        if strict:
            raise DeviceUnavailableError(
                "device: cuda was requested for training but torch sees no CUDA device "
                "(torch.cuda.is_available() is False). Set `device: auto` or `device: cpu` "
                "in config.yml, or install a CUDA build of torch."
            )
        logger.warning("device: cuda requested but CUDA is unavailable; running on CPU.")
    return DevicePlan("cpu", mixed_precision=False)


def available_cpus() -> int:
    """CPUs this process may run on (respects affinity masks and container CPU sets)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def cpu_thread_count(configured: int | None) -> int:
    """Threads torch should use on CPU: the configured number, else ``SHOP_TORCH_THREADS``,
    else every CPU we may use."""
    if configured is not None and configured > 0:
        return configured
    from_env = os.environ.get(TORCH_THREADS_ENV, "").strip()
    if from_env.isdigit() and int(from_env) > 0:
        return int(from_env)
    return available_cpus()


def idle_thread_count() -> int | None:
    """``SHOP_TORCH_THREADS_IDLE`` (capped at the CPUs we may use), None when unset."""
    from_env = os.environ.get(IDLE_TORCH_THREADS_ENV, "").strip()
    if from_env.isdigit() and int(from_env) > 0:
        return min(int(from_env), available_cpus())
    return None


def serving_threads(base: int, idle: int | None, in_flight: int) -> int:
    """Threads of one serving forward: ``idle`` when at most one message is in flight."""
    if idle is not None and in_flight <= 1:
        return idle
    return base


def cpu_has_fast_bfloat16(cpuinfo: str | None = None) -> bool:
    """Whether the CPU has bfloat16 dot-product instructions (``/proc/cpuinfo`` flags; False
    where there is no such file)."""
    if cpuinfo is None:
        try:
            with open("/proc/cpuinfo", encoding="ascii", errors="replace") as file:
                cpuinfo = file.read()
        except OSError:
            return False
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            return not FAST_BFLOAT16_FLAGS.isdisjoint(line.partition(":")[2].split())
    return False


def serving_precision(
    device: str, requested: str | None = None, fast_bfloat16: bool | None = None
) -> str:
    """``float32`` or ``bfloat16``: the weights a serving encoder keeps on ``device``.

    ``requested`` (default: ``SHOP_NLU_PRECISION``, else ``auto``) picks bfloat16 on a CPU with
    bfloat16 instructions: a forward reads half the bytes (a chat message's forward is bound by
    reading the weights), and the shopper dev split reads the same. CUDA keeps float32 weights
    (it runs under autocast) and so does a CPU without those instructions, where bfloat16 is
    emulated and slower.
    """
    choice = (requested or os.environ.get(PRECISION_ENV, "") or "auto").strip().lower()
    if choice not in PRECISION_CHOICES:
        raise ValueError(f"{PRECISION_ENV} must be one of {PRECISION_CHOICES}, got {choice!r}")
    if device != "cpu":
        return "float32"
    if choice == "auto":
        fast = cpu_has_fast_bfloat16() if fast_bfloat16 is None else fast_bfloat16
        return "bfloat16" if fast else "float32"
    return choice


def plan_for(requested: str, strict: bool, cpu_threads: int | None = None) -> DevicePlan:
    """Resolve `requested` against this machine's torch and apply the CPU thread count."""
    import torch

    plan = resolve_device(requested, torch.cuda.is_available(), strict=strict)
    if plan.device == "cpu":
        threads = cpu_thread_count(cpu_threads)
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
    return plan


def autocast_dtype() -> object:
    """The CUDA autocast dtype: bfloat16 where the GPU supports it, else float16."""
    import torch

    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
