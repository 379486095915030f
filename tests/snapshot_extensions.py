"""Syrupy extensions that keep one readable file per snapshot (SQL, JSON, text)."""

from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode


class TextSnapshot(SingleFileSnapshotExtension):
    _write_mode = WriteMode.TEXT
    file_extension = "txt"


class SqlSnapshot(TextSnapshot):
    file_extension = "sql"


class JsonSnapshot(TextSnapshot):
    file_extension = "json"
