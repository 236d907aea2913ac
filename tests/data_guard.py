"""Keep the test suite off the user's data: its own settings, and a check that var/ stays as it was.

``isolate_environment`` drops every ``SHOP_`` variable that names a setting (the Makefile and a
shell after ``make run`` export ``SHOP_DATA_DIR``, ``SHOP_TRACKER_DB``, ``SHOP_EVENTS_DB``, ...)
and points the data directory at a fresh temporary folder. Only the read-only artefacts that
``make train`` builds (the converted multilingual encoder, the trained models) keep the user's
paths, so tests do not convert or train them again.

``snapshot`` and ``changed_files`` record the user's databases (size, modification time and
SHA-256 of each ``*.db`` file, with SQLite's ``-wal``/``-journal`` files) before the session and
name those a test run added, removed or changed.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, MutableMapping

logger = logging.getLogger(__name__)

SETTINGS_PREFIX = "SHOP_"
#: Settings whose user values tests keep: artefacts tests read but never write.
READ_ONLY_ARTEFACTS = ("MULTILINGUAL_ENCODER_DIR", "MODELS_DIR")
#: Variables not in Settings that bot/endpoints.yml reads (``make run`` sets them).
ENDPOINT_VARIABLES = ("SHOP_ACTION_SERVER_URL",)
#: The user's database files a test run must leave alone.
GUARDED_PATTERNS = ("*.db", "*.db-wal", "*.db-journal")
#: Set to 0 to skip the check (e.g. while ``make run`` writes to var/ during the tests).
GUARD_SWITCH = "SHOP_TEST_DATA_GUARD"


@dataclass(frozen=True)
class FileState:
    """What a file looked like: size, modification time (ns) and SHA-256 of its bytes."""

    size: int
    mtime_ns: int
    sha256: str


def file_state(path: Path) -> FileState:
    """The state of ``path`` now."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    stat = path.stat()
    return FileState(size=stat.st_size, mtime_ns=stat.st_mtime_ns, sha256=digest.hexdigest())


def snapshot(folder: Path) -> Dict[str, FileState]:
    """The state of every guarded file directly in ``folder`` (empty when it does not exist)."""
    if not folder.is_dir():
        return {}
    paths = sorted({p for pattern in GUARDED_PATTERNS for p in folder.glob(pattern)})
    return {p.name: file_state(p) for p in paths if p.is_file()}


def changed_files(before: Dict[str, FileState], after: Dict[str, FileState]) -> List[str]:
    """One line per file added, removed or changed between two snapshots (sorted by name)."""
    lines: List[str] = []
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        if old is None:
            lines.append(f"{name}: created")
        elif new is None:
            lines.append(f"{name}: removed")
        elif old != new:
            lines.append(f"{name}: changed ({old.size} -> {new.size} bytes)")
    return lines


def guard_enabled(environ: MutableMapping[str, str]) -> bool:
    """Whether the var/ check runs (on unless ``SHOP_TEST_DATA_GUARD`` is ``0``)."""
    return environ.get(GUARD_SWITCH, "1").strip().lower() not in ("0", "false", "no")


def setting_variables() -> List[str]:
    """The environment variables :class:`knowledge.settings.Settings` and endpoints.yml read."""
    from knowledge.settings import Settings

    return [SETTINGS_PREFIX + name.upper() for name in Settings.__fields__] + list(
        ENDPOINT_VARIABLES
    )


def isolate_environment(environ: MutableMapping[str, str], data_dir: Path) -> Dict[str, str]:
    """Point ``environ``'s settings at ``data_dir``; returns the variables it removed."""
    from knowledge.settings import Settings, get_settings

    users = Settings()  # the user's settings, read once to keep the read-only artefacts
    kept = {
        "MULTILINGUAL_ENCODER_DIR": users.multilingual_encoder_dir
        or users.data_dir / "encoders" / "multilingual-e5-small",
        "MODELS_DIR": users.models_dir,
    }
    removed = {name: environ.pop(name) for name in setting_variables() if name in environ}
    environ[SETTINGS_PREFIX + "DATA_DIR"] = str(data_dir)
    for name in READ_ONLY_ARTEFACTS:
        environ[SETTINGS_PREFIX + name] = str(kept[name])
    get_settings.cache_clear()
    if removed:
        logger.info("tests ignore the environment's %s", ", ".join(sorted(removed)))
    return removed


def make_test_data_dir() -> Path:
    """A fresh temporary data directory for one test session."""
    return Path(tempfile.mkdtemp(prefix="shop-tests-"))


def user_data_dir() -> Path:
    """The data directory ``make run`` uses when nothing is configured: the project's var/."""
    from knowledge.settings import PROJECT_ROOT

    return PROJECT_ROOT / "var"


def user_data_dirs(environ: MutableMapping[str, str]) -> List[Path]:
    """var/ and, when the environment names another one, the user's configured data dir."""
    folders = [user_data_dir()]
    configured = environ.get(SETTINGS_PREFIX + "DATA_DIR")
    if configured and Path(configured).resolve() != folders[0].resolve():
        folders.append(Path(configured).resolve())
    for name in ("TRACKER_DB", "EVENTS_DB"):
        value = environ.get(SETTINGS_PREFIX + name)
        if value and "://" not in value:
            parent = Path(value).resolve().parent
            if parent not in [f.resolve() for f in folders]:
                folders.append(parent)
    return folders


def remove_test_data_dir(path: Path) -> None:
    """Delete the session's temporary data directory."""
    import shutil

    shutil.rmtree(path, ignore_errors=True)
