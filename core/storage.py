"""Where recordings live, so that every worker can read them: one storage root (a local folder by
default; a shared mount such as NFS or SMB when workers run on several machines).

A stored recording is named by its *key*, its path relative to the root ("callcenter/audio/<sha256>.wav"),
so machines that mount the share at different places still agree. Rows written before keys existed
hold absolute paths; those are read as they are. A worker reads a recording through
``verified_path``, which checks the file is there and that its content hash is the one stored when it
was uploaded (a half-copied or swapped file is refused, never analysed).

    PARLANCE_STORAGE_DIR=/mnt/parlance     # the same share on the server and on every worker
"""
from __future__ import annotations

import socket
from pathlib import Path

from core.archive import archive_file, file_sha256
from core.config import get_settings


class RecordingUnavailable(RuntimeError):
    """This machine cannot see the recording (missing share, wrong mount): another worker may."""


class RecordingChanged(RuntimeError):
    """The file is there but its content is not what was uploaded: nobody should analyse it."""


def storage_root() -> Path:
    """The folder every recording lives under (``PARLANCE_STORAGE_DIR``; default: the data folder)."""
    settings = get_settings()
    return Path(settings.storage_dir or settings.data_dir)


def area(*parts: str) -> Path:
    """An app's folder under the root ("callcenter", "audio")."""
    return storage_root().joinpath(*parts)


def store(src: str | Path, folder: Path) -> tuple[str, str, int]:
    """Keep an upload in ``folder`` (content-addressed, written atomically); returns (key, sha256,
    bytes). The key is relative to the storage root when ``folder`` is under it (the usual case),
    else the absolute path (a folder an administrator set apart from the root)."""
    root = storage_root().resolve()
    target, sha, size = archive_file(src, folder)
    target = target.resolve()
    key = target.relative_to(root).as_posix() if target.is_relative_to(root) else str(target)
    return key, sha, size


def local_path(key: str) -> Path:
    """Where a stored recording is on this machine (a key, or an older row's absolute path)."""
    path = Path(key)
    return path if path.is_absolute() else storage_root() / path


def verified_path(key: str, sha256: str) -> Path:
    """The recording's local path once it is known to be the uploaded file; ``RecordingUnavailable``
    when this machine cannot read it, ``RecordingChanged`` when its content differs."""
    path = local_path(key)
    try:
        actual = file_sha256(path)
    except OSError as exc:
        raise RecordingUnavailable(f"{socket.gethostname()} cannot read the recording at {path} ({exc.strerror}); "
                                   "check that the shared storage (PARLANCE_STORAGE_DIR) is mounted there") from exc
    if sha256 and actual != sha256:
        raise RecordingChanged(f"the recording at {path} is not the file that was uploaded (its content hash "
                               "differs); it was not analysed")
    return path
