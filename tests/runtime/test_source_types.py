"""The driver path's type tables, without a server (tests/connectors/test_type_parity.py checks
them against the scanners)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa
import pytest

from recipec.errors import ConnectorError
from recipec.runtime import source_types as st


@pytest.mark.parametrize(
    ("oid", "modifier", "expected"),
    [
        (1700, (12 << 16) | 2, "DECIMAL(12,2)"),
        (1700, None, "DOUBLE"),
        (1700, (40 << 16) | 10, "DOUBLE"),
        (3802, None, "JSON"),
        (114, None, "JSON"),
        (3807, None, "JSON[]"),
        (1007, None, "INTEGER[]"),
        (1231, (5 << 16) | 2, "DECIMAL(5,2)[]"),
        (1184, None, "TIMESTAMP WITH TIME ZONE"),
        (603, None, "DOUBLE[]"),
        (99999, None, "VARCHAR"),
    ],
    ids=lambda v: str(v),
)
def test_postgres_types_come_from_the_oid_and_modifier(oid, modifier, expected):
    assert st.postgres_column("c", oid, modifier).duckdb_type == expected


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ((1, 1, 0, 0), "BOOLEAN"),  # tinyint(1)
        ((1, 4, 0, 0), "TINYINT"),
        ((1, 3, 0, 32), "UTINYINT"),
        ((9, 8, 0, 32), "UINTEGER"),  # mediumint unsigned
        ((246, 14, 3, 0), "DECIMAL(12,3)"),
        ((246, 11, 0, 0), "DECIMAL(10,0)"),
        ((246, 6, 2, 32), "DECIMAL(5,2)"),  # unsigned: no sign in the length
        ((246, 42, 10, 0), "DOUBLE"),
        ((16, 1, 0, 32), "BOOLEAN"),  # bit(1)
        ((16, 8, 0, 32), "BLOB"),
        ((11, 10, 0, 128), "VARCHAR"),  # time
        ((13, 4, 0, 96), "INTEGER"),  # year
    ],
    ids=lambda v: str(v),
)
def test_mysql_types_come_from_the_field(field, expected):
    code, length, scale, flags = field
    assert st.mysql_column("c", code, length, scale, flags, 63).duckdb_type == expected


def test_mysql_text_and_binary_strings_differ_by_character_set():
    assert st.mysql_column("c", 253, 40, 0, 0, 45).duckdb_type == "VARCHAR"
    assert st.mysql_column("c", 253, 10, 0, 128, 63).duckdb_type == "BLOB"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("12345678901234567890"), 1.234567890123457e19),  # not the nearest double
        (Decimal("0.5"), 0.5),
        (Decimal("-0.0001"), -0.0001),
        (Decimal("0.00001"), 1e-05),
        (Decimal("0"), 0.0),
    ],
)
def test_unconstrained_numerics_round_as_the_postgres_scanner_does(value, expected):
    assert st.numeric_as_double(value) == expected


@pytest.mark.parametrize(
    ("text", "months", "days", "nanos"),
    [
        ("1 year 2 mons 3 days 04:05:06.5", 14, 3, 14_706_500_000_000),
        ("-1 days +02:00:00", 0, -1, 7_200_000_000_000),
        ("-1 mons -00:00:01", -1, 0, -1_000_000_000),
        ("00:00:00", 0, 0, 0),
    ],
)
def test_postgres_interval_text_keeps_months_days_and_time_apart(text, months, days, nanos):
    value = st._postgres_interval(text)
    assert (value.months, value.days, value.nanoseconds) == (months, days, nanos)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (dt.timedelta(hours=-838, minutes=-59, seconds=-59), "-838:59:59"),
        (dt.timedelta(hours=12, minutes=34, seconds=56, microseconds=500000), "12:34:56.5"),
        (dt.timedelta(microseconds=-1), "-00:00:00.000001"),
        (dt.timedelta(0), "00:00:00"),
    ],
)
def test_mysql_time_is_written_as_the_mysql_scanner_writes_it(value, expected):
    assert st._mysql_time(value) == expected


def test_a_batch_carries_each_columns_duckdb_type():
    columns = [st.postgres_column("doc", 3802, None), st.postgres_column("n", 1700, None)]
    table = st.to_arrow(columns, [('{"a": 1}', Decimal("1.5")), ("[1, 2]", None), ("1", None)])
    assert table.schema.field("doc").type == pa.string()
    assert st.declared_types(table.schema) == [("doc", "JSON"), ("n", "DOUBLE")]


def test_a_value_that_does_not_fit_its_column_names_the_column():
    column = st.postgres_column("cells", 1007, None)
    with pytest.raises(ConnectorError, match=r"'cells' \(INTEGER\[\]\).*multi-dimensional"):
        st.to_arrow([column], [([[1, 2], [3, 4]],)])


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("10.11.19-MariaDB-0+deb12u1", True),
        ("5.5.5-10.6.12-MariaDB", True),
        ("10.1.48-MariaDB", False),
        ("8.0.36", False),
    ],
)
def test_only_mariadb_10_2_and_later_has_json_checks(version, expected):
    assert st.has_json_checks(version) is expected
