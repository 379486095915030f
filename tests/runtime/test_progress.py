"""Progress on a terminal: each running resource's tasks, labelled with the resource, with rows
and rows per second."""

from __future__ import annotations

import io

from rich.console import Console

from recipec.runtime.progress import Progress


def test_concurrent_resources_show_their_own_rows_and_rate():
    screen = io.StringIO()
    progress = Progress(enabled=True, console=Console(file=screen, force_terminal=True, width=120))
    with (
        progress.named("orders").task("extract postgres public.orders") as orders,
        progress.named("customers").task("extract api /customers") as customers,
    ):
        orders.advance(1_000)
        customers.advance(250)
        orders.advance(1_500)
        progress._shown.refresh()  # type: ignore[union-attr]  # what a refresh tick draws
        shown = screen.getvalue()
    assert "orders: extract postgres public.orders" in shown
    assert "customers: extract api /customers" in shown
    assert "2,500 rows" in shown and "250 rows" in shown and "rows/s" in shown
    assert progress._shown is None  # the display stops with its last task


def test_a_disabled_display_draws_nothing():
    screen = io.StringIO()
    progress = Progress(enabled=False, console=Console(file=screen, force_terminal=True))
    with progress.named("orders").task("extract") as task:
        task.advance(10)
    assert screen.getvalue() == "" and task.rows == 10
