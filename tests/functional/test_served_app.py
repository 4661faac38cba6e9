"""The app in a browser tab (``rnntui serve`` sets RNNTUI_SERVED for it): no file of the serving
machine is opened by a path typed in the tab unless serve allowed it (--allow-files), and ``e``
hands its files to the browser instead of writing them on the server."""

from __future__ import annotations

import json
import shutil
from importlib.resources import files

import pytest
from helpers import press_and_settle, settle, static_text, wait_until
from textual.widgets import Input

from rnntui.screens import PickerScreen

REFUSED = "cannot open files on the machine serving it"


@pytest.fixture(autouse=True)
def _data_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))


def scenario_file(tmp_path):
    path = tmp_path / "mine.toml"
    text = (files("engine.scenarios") / "cat.toml").read_text()
    path.write_text(text.replace('name = "cat"', 'name = "mine"'))
    return path


@pytest.mark.parametrize("served", ["browser", "anything-else"])
async def test_a_tab_opens_a_scenario_file_only_when_serve_allows_it(app_factory, tmp_path,
                                                                     monkeypatch, served):
    monkeypatch.setenv("RNNTUI_SERVED", served)
    path = scenario_file(tmp_path)
    app = app_factory("king", train=False)
    async with app.run_test(size=(100, 32)) as pilot:
        await press_and_settle(pilot, ["o", "tab"])
        app.screen.query_one(Input).value = str(path)
        await press_and_settle(pilot, ["enter"])
        assert isinstance(app.screen, PickerScreen)  # still open: a built-in can be picked
        assert REFUSED in static_text(app.screen.query_one("#picker-error"))
        assert app.view.scenario.name == "king"
        monkeypatch.setenv("RNNTUI_SERVED", "browser+files")  # rnntui serve --allow-files
        await press_and_settle(pilot, ["enter"])
        assert app.screen is app.main_screen and app.view.scenario.name == "mine"


async def test_a_tab_opens_a_lesson_file_only_when_serve_allows_it(app_factory, tmp_path,
                                                                   monkeypatch):
    monkeypatch.setenv("RNNTUI_SERVED", "browser")
    lesson = tmp_path / "mine.toml"
    shutil.copy(files("rnntui.lessons") / "course" / "01_recurrence.toml", lesson)
    app = app_factory("king", train=False, draw_ahead=False)
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        await pilot.press("L")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "LessonListScreen",
                         "the list opened")
        await press_and_settle(pilot, ["tab"])
        app.screen.query_one(Input).value = str(lesson)
        await press_and_settle(pilot, ["enter"])
        session = app.main_screen.lessons
        assert type(app.screen).__name__ == "LessonListScreen"
        assert REFUSED in static_text(app.screen.query_one("#lessons-error"))
        assert session.lesson is None
        monkeypatch.setenv("RNNTUI_SERVED", "browser+files")  # rnntui serve --allow-files
        await press_and_settle(pilot, ["enter"])
        assert app.screen is app.main_screen and session.lesson is not None


@pytest.mark.warm_cache  # (king opens trained: conftest.py)
async def test_export_in_a_tab_is_a_pair_of_downloads_and_writes_nothing(app_factory, tmp_path,
                                                                         monkeypatch):
    monkeypatch.setenv("RNNTUI_SERVED", "browser")
    app = app_factory("king")
    delivered = {}

    def deliver_text(file, *, save_filename=None, open_method="download", **options):
        delivered[save_filename] = (file.read(), open_method)
        return "key"
    monkeypatch.setattr(app, "deliver_text", deliver_text)
    async with app.run_test(size=(80, 24)) as pilot:
        await press_and_settle(pilot, ["right", "right", "right", "e"])
        assert set(delivered) == {"rnntui-king-e200-t3.svg", "rnntui-king-e200-t3.json"}
        svg, how = delivered["rnntui-king-e200-t3.svg"]
        assert svg.startswith("<svg") and how == "download"
        data = json.loads(delivered["rnntui-king-e200-t3.json"][0])
        assert data["epoch"] == 200 and "t=3" in data["position"].split(",")
        assert any("Sent rnntui-king-e200-t3.svg and rnntui-king-e200-t3.json to your browser"
                   in str(n.message) for n in app._notifications)
    # nothing written on the server: not in the export folder (the test's, also the cwd)
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix in (".svg", ".json")) == []


@pytest.mark.parametrize("served", ["", "browser"])
def test_a_tabs_lesson_marks_stay_in_its_own_process(tmp_path, monkeypatch, served):
    """Every tab's app runs as the teacher: one progress.json would mix (and overwrite) every
    student's marks, so a tab keeps its marks in memory; a terminal app keeps the file."""
    from rnntui.lessons.progress import Progress, progress_path
    from rnntui.lessons.session import LessonSession

    monkeypatch.setenv("RNNTUI_SERVED", served)
    teacher = Progress()
    teacher.record("recurrence", step=4, done=4, finished=True)
    before = progress_path().read_bytes()
    progress = LessonSession(screen=None).progress
    progress.record("memory", step=1, done=0)
    if served:
        assert progress.entry("recurrence")["finished"] is False  # the teacher's not read
        assert progress.entry("memory")["done"] == [0]
        assert progress_path().read_bytes() == before  # nor written
    else:
        assert progress.entry("recurrence")["finished"] is True
        assert Progress().entry("memory")["done"] == [0]
