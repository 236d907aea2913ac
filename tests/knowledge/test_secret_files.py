"""knowledge.secret_files: generated secrets are usable as one command-line argument."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge import secret_files


def test_a_secret_never_starts_with_a_dash(monkeypatch: pytest.MonkeyPatch) -> None:
    """`rasa run --auth-token -abc` fails ("expected one argument"): 1 token in 64 did."""
    drawn = iter(["-leading-dash", "--two", "fine-token"])
    monkeypatch.setattr(secret_files.secrets, "token_urlsafe", lambda _n: next(drawn))
    assert secret_files.new_secret() == "fine-token"


def test_persistent_secret_is_generated_once_and_kept(tmp_path: Path) -> None:
    first = secret_files.persistent_secret(tmp_path, "x.secret")
    assert len(first) >= 40 and not first.startswith("-")
    assert secret_files.persistent_secret(tmp_path, "x.secret") == first
    assert (tmp_path / "x.secret").stat().st_mode & 0o777 == 0o600
