"""atomic.write_atomically: a failed write leaves the target as it was and no temporary file, in one line
naming the target."""

from __future__ import annotations

import errno

import pytest

from overworld.atomic import write_atomically
from overworld.errors import PathError


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "a.bin"
    target.write_bytes(b"old")

    def half_then_full(temp):
        temp.write_bytes(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(PathError, match=f"^cannot write {target}: No space left on device$"):
        write_atomically(target, half_then_full)
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["a.bin"]


def test_a_library_error_is_named_too_and_other_errors_pass_through(tmp_path):
    class LibraryError(RuntimeError):
        pass

    def fail(temp):
        raise LibraryError("System error.")

    with pytest.raises(PathError, match=f"cannot write {tmp_path / 'x'}: .*System error"):
        write_atomically(tmp_path / "x", fail, errors=(LibraryError,))
    with pytest.raises(KeyError):
        write_atomically(tmp_path / "x", lambda temp: {}["k"])
    assert list(tmp_path.iterdir()) == []


def test_a_folder_that_is_not_there_is_named(tmp_path):
    with pytest.raises(PathError, match=f"cannot write {tmp_path / 'no' / 'x'}: No such file or directory"):
        write_atomically(tmp_path / "no" / "x", lambda temp: temp.write_bytes(b"1"))
