"""The assistant's index is built at start, in a thread, so the first question does not wait."""

from __future__ import annotations

from types import SimpleNamespace

from tongban.assistant import answering
from tongban.assistant import service as assistant
from tongban.platform.db import Database


def test_the_warmer_builds_the_index_the_first_question_then_finds(database: Database) -> None:
    answering._indexes.clear()
    app = SimpleNamespace(state=SimpleNamespace(database=database))
    stop = assistant.warmer_starter()(app)
    stop()  # waits for the thread
    assert len(answering._indexes) == 1
    built = next(iter(answering._indexes.values()))
    with database.sessions() as session:
        assert answering.index_for(session) is built  # the first question reuses it


def test_a_failing_warm_up_is_logged_not_raised(caplog) -> None:  # type: ignore[no-untyped-def]
    class Broken:
        def sessions(self) -> None:
            raise RuntimeError("database away")

    app = SimpleNamespace(state=SimpleNamespace(database=Broken()))
    assistant.warmer_starter()(app)()
    assert "building the index at start failed" in caplog.text
