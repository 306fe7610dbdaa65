# Copyright: (c) 2026, coconut.entra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""write_atomically(): the one way this collection replaces a file (state, reports, credentials)."""

from __future__ import annotations

import os
import tempfile


def write_atomically(path, data, mode=0o600, owner=None):
    """Replace `path` with `data` (text is written as UTF-8) so a reader sees the old file or the new one, never half.

    The data goes to a temporary file in the same directory, created with `mode` (not the umask's), flushed to disk,
    then renamed over `path`; on any failure the temporary file is removed and the error raised, and `path` is
    untouched. `owner` is an optional (uid, gid) to keep, best effort (only root may give a file away).
    Missing directories are created.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            os.fchmod(stream.fileno(), mode)
            if owner is not None:
                try:
                    os.fchown(stream.fileno(), *owner)
                except PermissionError:
                    pass  # not root: the file becomes ours, which is who could write it anyway
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    _sync_directory(directory)


def _sync_directory(directory):
    """Make the rename itself durable; some file systems cannot, and the file is written either way."""
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
