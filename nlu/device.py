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
