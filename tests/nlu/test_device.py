"""Device selection: pure decisions tested without a GPU."""

from __future__ import annotations

import pytest

from nlu.device import (
    DevicePlan,
    DeviceUnavailableError,
    available_cpus,
    cpu_has_fast_bfloat16,
    cpu_thread_count,
    idle_thread_count,
    plan_for,
    resolve_device,
    serving_precision,
    serving_threads,
)
from nlu.serving_load import InFlight


def test_auto_uses_cuda_with_mixed_precision_when_available() -> None:
    assert resolve_device("auto", cuda_available=True, strict=True) == DevicePlan("cuda", True)


def test_auto_falls_back_to_cpu_without_cuda() -> None:
    assert resolve_device("auto", cuda_available=False, strict=True) == DevicePlan("cpu", False)


def test_cpu_is_cpu_even_with_cuda() -> None:
    assert resolve_device("cpu", cuda_available=True, strict=True).device == "cpu"


def test_cuda_without_cuda_raises_when_strict() -> None:
    with pytest.raises(DeviceUnavailableError, match="device: auto"):
        resolve_device("cuda", cuda_available=False, strict=True)


def test_cuda_without_cuda_falls_back_when_lenient(caplog: pytest.LogCaptureFixture) -> None:
    assert resolve_device("cuda", cuda_available=False, strict=False).device == "cpu"
    assert "CUDA is unavailable" in caplog.text


def test_unknown_device_rejected() -> None:
    with pytest.raises(ValueError, match="tpu"):
        resolve_device("tpu", cuda_available=False, strict=False)


def test_cpu_threads_configured_or_all_available(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHOP_TORCH_THREADS", raising=False)
    assert cpu_thread_count(3) == 3
    assert cpu_thread_count(None) >= 1


def test_cpu_threads_from_the_environment_unless_configured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SHOP_TORCH_THREADS", "1")
    assert cpu_thread_count(None) == 1
    assert cpu_thread_count(3) == 3
    monkeypatch.setenv("SHOP_TORCH_THREADS", "lots")
    assert cpu_thread_count(None) >= 1


def test_idle_threads_from_the_environment_capped_at_the_cpus(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SHOP_TORCH_THREADS_IDLE", raising=False)
    assert idle_thread_count() is None
    monkeypatch.setenv("SHOP_TORCH_THREADS_IDLE", "64")
    assert idle_thread_count() == min(64, available_cpus())
    monkeypatch.setenv("SHOP_TORCH_THREADS_IDLE", "0")
    assert idle_thread_count() is None


def test_a_lone_message_gets_the_idle_threads_others_the_serving_count() -> None:
    assert serving_threads(1, 2, in_flight=0) == 2
    assert serving_threads(1, 2, in_flight=1) == 2
    assert serving_threads(1, 2, in_flight=2) == 1
    assert serving_threads(1, None, in_flight=1) == 1


async def test_in_flight_counts_messages_while_they_are_handled() -> None:
    counter = InFlight()
    seen = []

    async def handle(message: str) -> str:
        seen.append(counter.count)
        if message == "boom":
            raise RuntimeError(message)
        return message.upper()

    counted = counter.counted(handle)
    assert await counted("hi") == "HI"
    with pytest.raises(RuntimeError):
        await counted("boom")
    assert seen == [1, 1]
    assert counter.count == 0


def test_plan_for_auto_is_cpu_on_this_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    threads = torch.get_num_threads()
    try:
        assert plan_for("auto", strict=True, cpu_threads=1) == DevicePlan("cpu", False)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(threads)


@pytest.mark.gpu
def test_plan_for_auto_uses_cuda_on_gpu_host() -> None:
    import torch

    if not torch.cuda.is_available():
        pytest.skip("no CUDA device on this machine")
    assert plan_for("auto", strict=True).device == "cuda"


ZEN4_FLAGS = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_bf16 avx512_vnni\n"
AVX2_FLAGS = "processor\t: 0\nflags\t\t: fpu sse2 avx2 fma\n"


def test_bfloat16_instructions_are_read_from_the_cpu_flags() -> None:
    assert cpu_has_fast_bfloat16(ZEN4_FLAGS)
    assert cpu_has_fast_bfloat16("flags\t: avx2 amx_bf16 amx_tile\n")
    assert not cpu_has_fast_bfloat16(AVX2_FLAGS)
    assert not cpu_has_fast_bfloat16("")


def test_auto_precision_is_bfloat16_only_on_a_cpu_that_has_the_instructions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SHOP_NLU_PRECISION", raising=False)
    assert serving_precision("cpu", fast_bfloat16=True) == "bfloat16"
    assert serving_precision("cpu", fast_bfloat16=False) == "float32"
    # CUDA serves float32 weights under autocast.
    assert serving_precision("cuda", "bfloat16", fast_bfloat16=True) == "float32"


def test_precision_comes_from_the_environment_and_rejects_unknown_values(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SHOP_NLU_PRECISION", "float32")
    assert serving_precision("cpu", fast_bfloat16=True) == "float32"
    monkeypatch.setenv("SHOP_NLU_PRECISION", "BFloat16")
    assert serving_precision("cpu", fast_bfloat16=False) == "bfloat16"
    monkeypatch.setenv("SHOP_NLU_PRECISION", "int8")
    with pytest.raises(ValueError, match="SHOP_NLU_PRECISION"):
        serving_precision("cpu")
