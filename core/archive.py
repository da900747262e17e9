"""Keep an uploaded file before anything reads it: a content-addressed copy (sha256 name), readable
by the server's own account only (folders 0700, files 0600)."""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path


def file_sha256(path: Path) -> str:
    """The file's SHA-256, read in 1 MB blocks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def archive_file(src: str | Path, folder: Path) -> tuple[Path, str, int]:
    """Copy ``src`` into ``folder`` as ``<sha256><suffix>`` (hashed in 1 MB blocks, written via a
    ``.part`` file so a crash never leaves half a recording); returns (path, sha256, bytes)."""
    src = Path(src)
    sha = file_sha256(src)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    target = folder / f"{sha}{src.suffix.lower()[:8]}"
    if not target.exists():
        tmp = target.with_suffix(target.suffix + ".part")
        shutil.copyfile(src, tmp)
        tmp.chmod(0o600)  # the recording is for this server's account only, whatever the umask
        tmp.replace(target)
    return target, sha, target.stat().st_size
