"""The conversation view, driven as the main window drives it: what a person sees (bubbles, their order and
side, times, sources, date separators, "stopped", the latency details), how it follows a conversation as it
happens (partial words, a streamed answer, scrolling), the keyboard, the screen reader's names, and the
light and dark palettes."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from desktop_app.core.models import Message, Role
from desktop_app.core.reply_source import OFFLINE_ANSWER, ReplySource
from desktop_app.ui.chat_colours import TEXT_CONTRAST, ChatColours, contrast
from desktop_app.ui.chat_delegate import FOCUS_GAP, BubbleLayout
from desktop_app.ui.chat_model import DETAILS_ROLE, HEADER_ROLE, META_ROLE
from desktop_app.ui.chat_text import (
    ChatEntry,
    Speaker,
    accessible_name,
    day_label,
    entries_from_messages,
    latency_lines,
)
from desktop_app.ui.chat_view import NEW_MESSAGES, ChatView
from desktop_app.ui.qt import (
    QAccessible,
    QApplication,
    QColor,
    QContextMenuEvent,
    QFont,
    QGuiApplication,
    QMenu,
    QPalette,
    QPoint,
    Qt,
    QTextEdit,
    QTimer,
)

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

SCREENS = Path(__file__).resolve().parents[1] / "docs" / "screens"
TIMER = ReplySource.skill("timer")
CLOCK = ReplySource.skill("clock")
LLAMA = ReplySource.model("llama3.2")
VOICE_TIMINGS = {
    "release_to_final_ms": 412.0,
    "release_to_first_reply_ms": 530.0,
    "release_to_first_audio_ms": 801.0,
    "release_to_done_ms": 2104.0,
    "listening_ms": 1800.0,
    "preroll_ms": 300.0,
}
TYPED_TIMINGS = {"release_to_first_reply_ms": 420.0, "release_to_done_ms": 1500.0}


def at(hour: int, minute: int, days_ago: int = 0) -> datetime:
    """A local time today (or `days_ago` days before)."""
    today = datetime.now().astimezone().replace(hour=hour, minute=minute, second=0, microsecond=0)
    return (today - timedelta(days=days_ago)).astimezone()


def message(number: int, role: Role, text: str, when: datetime, **extra: object) -> Message:
    return Message(number, 1, role, text, when, **extra)  # type: ignore[arg-type]


def chat(count: int) -> list[Message]:
    """Questions and answers a minute apart, ending now; answers long enough to wrap."""
    start = datetime.now().astimezone() - timedelta(minutes=count)
    return [
        message(
            number,
            Role.USER if number % 2 == 0 else Role.ASSISTANT,
            f"question {number}" if number % 2 == 0 else f"answer {number}: " + "the words of a long answer " * 6,
            start + timedelta(minutes=number),
            source=None if number % 2 == 0 else LLAMA.stored,
            timings=None if number % 2 == 0 else TYPED_TIMINGS,
        )
        for number in range(count)
    ]


@pytest.fixture
def view(qtbot) -> Iterator[ChatView]:
    widget = ChatView()
    qtbot.addWidget(widget)
    widget.resize(520, 640)
    widget.show()
    qtbot.waitExposed(widget)
    yield widget


def rows(view: ChatView) -> list[tuple[str, str, str]]:
    """What each bubble shows: the side it is drawn on, its text and its quiet line."""
    model = view.list.chat_model
    shown = []
    for row in range(model.rowCount()):
        index = model.index(row)
        entry = model.entry(row)
        delegate = view.list.chat_delegate
        bubble = delegate.bubble_rect(view.list.visualRect(index), entry, delegate.layout_for(entry))
        side = "right" if bubble.center().x() > view.list.viewport().width() / 2 else "left"
        shown.append((side, entry.text, str(index.data(META_ROLE))))
    return shown


def data(view: ChatView, row: int, role: int) -> str:
    model = view.list.chat_model
    return str(model.index(row if row >= 0 else model.rowCount() + row).data(role))


# -- the words, without Qt ------------------------------------------------------------------------------


def test_date_labels_say_today_yesterday_or_the_day() -> None:
    today = date(2026, 12, 2)
    assert day_label(today, today) == "Today"
    assert day_label(date(2026, 12, 1), today) == "Yesterday"
    assert day_label(date(2026, 11, 30), today) == "Mon 30 Nov"
    assert day_label(date(2025, 12, 24), today) == "Wed 24 Dec 2025"


def test_the_latency_breakdown_leaves_out_stages_that_were_not_measured() -> None:
    assert latency_lines(TYPED_TIMINGS) == [("First reply text", "420 ms"), ("Done", "1.50 s")]
    assert [label for label, _ in latency_lines(VOICE_TIMINGS)] == [
        "Transcript",
        "First reply text",
        "First audio",
        "Done",
        "Key held",
        "Pre-roll (heard before the press)",
    ]
    assert latency_lines(None) == [] and latency_lines({}) == []


def test_stored_messages_become_bubbles_with_announcements_told_apart() -> None:
    messages = [
        message(1, Role.SYSTEM, "You are a helpful assistant.", at(9, 0)),
        message(2, Role.USER, "set a timer for ten minutes", at(9, 0)),
        message(3, Role.ASSISTANT, "Timer set.", at(9, 0), source=TIMER.stored, timings=VOICE_TIMINGS),
        message(4, Role.ASSISTANT, "Your timer is done.", at(9, 10), source=TIMER.stored),
    ]
    entries = entries_from_messages(messages)
    assert [(e.speaker, e.text, e.announcement) for e in entries] == [
        (Speaker.USER, "set a timer for ten minutes", False),
        (Speaker.ASSISTANT, "Timer set.", False),
        (Speaker.ASSISTANT, "Your timer is done.", True),  # nobody asked for it
    ]
    assert accessible_name(entries[1]) == "Assistant, 09:00, from timer skill: Timer set."
    assert accessible_name(ChatEntry(Speaker.USER, "what time", None, provisional=True)) == "You, speaking: what time"


# -- what the window shows --------------------------------------------------------------------------------


@pytest.mark.gui
def test_a_stored_conversation_shows_each_side_with_its_time_and_source(view: ChatView) -> None:
    view.show_history(
        [
            message(1, Role.USER, "what time is it", at(14, 5)),
            message(2, Role.ASSISTANT, "It is five past two.", at(14, 5), source=CLOCK.stored, timings=VOICE_TIMINGS),
            message(3, Role.USER, "tell me a joke", at(14, 6)),
            message(4, Role.ASSISTANT, "I only know offline things.", at(14, 6), source=OFFLINE_ANSWER.stored),
            message(5, Role.USER, "and the news", at(14, 7)),
            message(6, Role.ASSISTANT, "Here is what I know.", at(14, 7), source=LLAMA.stored),
            message(7, Role.USER, "again", at(14, 8)),
            message(8, Role.ASSISTANT, "The model timed out.", at(14, 8), source="error:llm_timeout"),
        ]
    )
    assert rows(view) == [
        ("right", "what time is it", "14:05"),
        ("left", "It is five past two.", "14:05 · from clock skill"),
        ("right", "tell me a joke", "14:06"),
        ("left", "I only know offline things.", "14:06 · from offline"),
        ("right", "and the news", "14:07"),
        ("left", "Here is what I know.", "14:07 · from llama3.2"),
        ("right", "again", "14:08"),
        ("left", "The model timed out.", "14:08 · error"),
    ]
    assert view.list.chat_model.entry(7).is_error and not view.list.chat_model.entry(5).is_error
    assert data(view, 0, HEADER_ROLE) == "Today" and data(view, 1, HEADER_ROLE) == ""


@pytest.mark.gui
def test_date_separators_come_between_days(view: ChatView) -> None:
    view.show_history(
        [
            message(1, Role.USER, "first", at(22, 0, days_ago=9)),
            message(2, Role.ASSISTANT, "one", at(22, 0, days_ago=9), source=CLOCK.stored),
            message(3, Role.USER, "second", at(8, 0, days_ago=1)),
            message(4, Role.ASSISTANT, "two", at(8, 1, days_ago=1), source=CLOCK.stored),
            message(5, Role.USER, "third", at(7, 30)),
        ]
    )
    nine_days_ago = at(22, 0, days_ago=9).date()
    headers = [data(view, row, HEADER_ROLE) for row in range(5)]
    assert headers == [day_label(nine_days_ago, date.today()), "", "Yesterday", "", "Today"]
    assert headers[0][:3].isalpha() and str(nine_days_ago.day) in headers[0]
    # A separator takes room above its bubble.
    assert (
        view.list.visualRect(view.list.chat_model.index(2)).height()
        > view.list.visualRect(view.list.chat_model.index(3)).height()
    )


@pytest.mark.gui
def test_partial_words_update_one_bubble_that_becomes_the_question(view: ChatView) -> None:
    view.begin_user_partial("what")
    view.update_user_partial("what time")
    assert rows(view) == [("right", "what time", "Listening…")]
    partial = view.list.chat_model.entry(0)
    assert partial.provisional and view.list.chat_delegate.fonts.for_text(partial).italic()
    view.update_user_partial("what time is")
    view.finish_user("what time is it", at(14, 5))
    assert rows(view) == [("right", "what time is it", "14:05")]
    assert view.list.chat_model.entry(0) is partial and not partial.provisional


@pytest.mark.gui
def test_an_empty_final_transcript_removes_the_partial_bubble(view: ChatView) -> None:
    view.finish_user("hello", at(9, 0))
    view.begin_user_partial("uh")
    assert len(rows(view)) == 2
    view.finish_user("   ", at(9, 1))  # nothing was heard
    assert rows(view) == [("right", "hello", "09:00")]
    view.begin_user_partial("set a")
    view.end_turn()  # the turn ended with no final words
    assert len(rows(view)) == 1


@pytest.mark.gui
def test_a_streamed_answer_grows_one_bubble_and_measures_only_that_one(view: ChatView, monkeypatch) -> None:
    view.show_history(chat(40))
    delegate = view.list.chat_delegate
    measured: list[str] = []
    real = delegate._measure

    def measure(entry: ChatEntry) -> BubbleLayout:
        measured.append(entry.text)
        return real(entry)

    monkeypatch.setattr(delegate, "_measure", measure)
    view.finish_user("what time is it", at(14, 5))
    view.begin_answer(at(14, 5))
    assert rows(view)[-1] == ("left", "", "14:05 · writing…")
    for chunk in ("It is ", "five past ", "two."):
        view.append_answer(chunk, CLOCK)
    assert len(rows(view)) == 42
    assert rows(view)[-1] == ("left", "It is five past two.", "14:05 · from clock skill · writing…")
    view.finish_answer(VOICE_TIMINGS)
    assert rows(view)[-1] == ("left", "It is five past two.", "14:05 · from clock skill")
    # The question and the answer were measured, the 40 messages above them were not.
    assert set(measured) <= {"what time is it", "", "It is ", "It is five past ", "It is five past two."}


@pytest.mark.gui
def test_stopped_answers_are_marked_live_and_from_the_store(view: ChatView) -> None:
    stopped = {"release_to_first_reply_ms": 500.0, "interrupted_at_ms": 1700.0, "spoken_chars": 16.0}
    view.show_history(
        [
            message(1, Role.USER, "tell me about bicycles", at(10, 0)),
            message(2, Role.ASSISTANT, "Bicycles began as running machines.", at(10, 0), source=LLAMA.stored,
                    timings=stopped),
        ]
    )  # fmt: skip
    assert rows(view)[-1][2] == "10:00 · from llama3.2 · stopped"
    assert view.list.chat_model.entry(1).spoken_chars == 16
    assert "stopped" in data(view, 1, Qt.ItemDataRole.AccessibleTextRole)

    view.finish_user("and boats", at(10, 1))
    view.begin_answer(at(10, 1))
    view.append_answer("Boats are older", LLAMA)
    view.finish_answer(None, interrupted=True)
    assert rows(view)[-1] == ("left", "Boats are older", "10:01 · from llama3.2 · stopped")


@pytest.mark.gui
def test_long_messages_wrap_inside_their_bubble(view: ChatView) -> None:
    token = "https://example.org/" + "x" * 300  # no place to break: broken anywhere rather than cut off
    view.show_history([message(1, Role.ASSISTANT, "A long one: " + token + " and " + "more words " * 200, at(9, 0))])
    entry = view.list.chat_model.entry(0)
    delegate = view.list.chat_delegate
    layout = delegate.layout_for(entry)
    bubble = delegate.bubble_rect(view.list.visualRect(view.list.chat_model.index(0)), entry, layout)
    assert bubble.right() < view.list.viewport().width() * 0.85
    assert layout.text.lineCount() > 20
    widest = max(layout.text.lineAt(n).naturalTextWidth() for n in range(layout.text.lineCount()))
    assert widest <= bubble.width()


@pytest.mark.gui
def test_a_narrower_window_wraps_the_bubbles_again(view: ChatView, qtbot) -> None:
    view.show_history(chat(6))
    answer = view.list.chat_model.index(1)
    before = view.list.visualRect(answer).height()
    view.resize(300, 640)
    qtbot.waitUntil(lambda: view.list.visualRect(answer).height() > before)
    assert view.at_bottom


@pytest.mark.gui
def test_a_long_source_name_is_shortened_to_fit_a_narrow_bubble(view: ChatView) -> None:
    view.resize(300, 400)
    long_name = ReplySource.model("hf.co/bartowski/Llama-3.2-3B-Instruct-GGUF:Q4_K_M")
    view.finish_user("hello", at(9, 0))
    view.begin_answer(at(9, 0))
    view.append_answer("Hi there.", long_name)
    view.finish_answer(TYPED_TIMINGS)
    entry = view.list.chat_model.entry(1)
    layout = view.list.chat_delegate.layout_for(entry)
    assert "…" in layout.meta and layout.meta.endswith("Q4_K_M")
    assert layout.line_width <= layout.bubble_width
    assert data(view, 1, META_ROLE) == "09:00 · from hf.co/bartowski/Llama-3.2-3B-Instruct-GGUF:Q4_K_M"


@pytest.mark.gui
def test_the_end_of_a_turn_settles_what_was_left_open(view: ChatView) -> None:
    view.finish_user("tell me a story", at(9, 0))
    view.begin_answer(at(9, 0))
    view.append_answer("Once upon a time", LLAMA)
    view.begin_user_partial("stop")  # a new press while it was written (the window ends the turn)
    view.end_turn()
    assert rows(view) == [
        ("right", "tell me a story", "09:00"),
        ("left", "Once upon a time", "09:00 · from llama3.2 · stopped"),
    ]
    assert not view.answering


@pytest.mark.gui
def test_an_answer_without_words_leaves_no_bubble(view: ChatView) -> None:
    view.finish_user("stop", at(10, 0))
    view.begin_answer(at(10, 0))
    view.finish_answer(None, interrupted=True)
    assert rows(view) == [("right", "stop", "10:00")]


@pytest.mark.gui
def test_announcements_and_errors_are_marked_and_keep_the_live_bubble_last(view: ChatView) -> None:
    view.finish_user("remind me", at(9, 0))
    view.begin_user_partial("to buy")
    view.add_announcement("Your ten minute timer is done.", TIMER, at(9, 1))
    assert rows(view) == [
        ("right", "remind me", "09:00"),
        ("left", "Your ten minute timer is done.", "09:01 · announcement · from timer skill"),
        ("right", "to buy", "Listening…"),
    ]
    view.finish_user("to buy milk", at(9, 2))
    view.begin_answer(at(9, 2))
    view.append_answer("I will remind", LLAMA)
    view.add_error("The language model stopped answering. Try again.", at(9, 3))
    assert rows(view)[-2:] == [
        ("left", "I will remind", "09:02 · from llama3.2 · stopped"),  # what was shown is kept
        ("left", "The language model stopped answering. Try again.", "09:03 · error"),
    ]
    assert view.list.chat_model.entry(4).is_error
    assert not view.answering


@pytest.mark.gui
def test_latency_details_unfold_on_a_click_or_space_without_missing_stages(view: ChatView, qtbot) -> None:
    view.finish_user("what is two plus two", at(9, 0))
    view.begin_answer(at(9, 0))
    view.append_answer("Four.", ReplySource.skill("calculator"))
    view.finish_answer(TYPED_TIMINGS)
    assert data(view, -1, META_ROLE) == "09:00 · from calculator skill"
    assert data(view, -1, DETAILS_ROLE) == ""  # folded
    assert "First reply text: 420 ms" in data(view, -1, Qt.ItemDataRole.ToolTipRole)
    before = view.list.visualRect(view.list.chat_model.index(1)).height()

    entry = view.list.chat_model.entry(1)
    toggle = view.list.chat_delegate.toggle_rect(view.list.visualRect(view.list.chat_model.index(1)), entry)
    assert toggle is not None
    qtbot.mouseClick(view.list.viewport(), Qt.MouseButton.LeftButton, pos=toggle.center().toPoint())
    assert data(view, -1, DETAILS_ROLE) == "Time since the question was sent\nFirst reply text  420 ms\nDone  1.50 s"
    assert "Transcript" not in data(view, -1, DETAILS_ROLE)
    qtbot.waitUntil(lambda: view.list.visualRect(view.list.chat_model.index(1)).height() > before)

    view.list.setFocus()
    view.list.setCurrentIndex(view.list.chat_model.index(1))
    qtbot.keyClick(view.list, Qt.Key.Key_Space)
    assert data(view, -1, DETAILS_ROLE) == ""
    view.details_action.trigger()  # the context menu's entry
    assert data(view, -1, DETAILS_ROLE).startswith("Time since the question was sent")
    assert view.details_action.text() == "Hide timing &details"


@pytest.mark.gui
def test_it_follows_new_messages_only_when_the_user_was_at_the_bottom(view: ChatView, qtbot) -> None:
    bar = view.list.verticalScrollBar()
    view.show_history(chat(40))
    assert bar.maximum() > 0 and bar.value() == bar.maximum() and view.at_bottom

    bar.setValue(0)  # the user scrolls up to read
    assert not view.at_bottom
    view.finish_user("a new question", at(12, 0))
    view.begin_answer(at(12, 0))
    for _ in range(20):
        view.append_answer("more words to read ", LLAMA)
    assert bar.value() == 0  # their place is kept
    assert view.unseen == 2 and view.new_messages_button.isVisible()
    assert view.new_messages_button.text() == NEW_MESSAGES

    qtbot.mouseClick(view.new_messages_button, Qt.MouseButton.LeftButton)
    assert view.at_bottom and bar.value() == bar.maximum() and not view.new_messages_button.isVisible()
    for _ in range(20):  # growing by lines: followed
        view.append_answer("and still more words ", LLAMA)
    last = view.list.visualRect(view.list.chat_model.index(view.list.chat_model.rowCount() - 1))
    assert bar.value() == bar.maximum() and last.bottom() <= view.list.viewport().height()


@pytest.mark.gui
def test_the_keyboard_moves_through_messages_with_a_visible_focus(view: ChatView, qtbot) -> None:
    view.show_history(chat(12))
    view.activateWindow()
    view.setFocus()
    qtbot.waitUntil(view.list.hasFocus)
    qtbot.keyClick(view.list, Qt.Key.Key_End)
    assert view.list.currentIndex().row() == 11
    qtbot.keyClick(view.list, Qt.Key.Key_Up)
    assert view.list.currentIndex().row() == 10
    qtbot.keyClick(view.list, Qt.Key.Key_Home)
    assert view.list.currentIndex().row() == 0
    qtbot.keyClick(view.list, Qt.Key.Key_Down)
    assert view.list.currentIndex().row() == 1

    # The focused bubble has a ring in the accent colour around it.
    index = view.list.currentIndex()
    entry = view.list.chat_model.entry(1)
    delegate = view.list.chat_delegate
    bubble = delegate.bubble_rect(view.list.visualRect(index), entry, delegate.layout_for(entry))
    ring = QPoint(int(bubble.left() - FOCUS_GAP), int(bubble.center().y()))
    image = view.list.viewport().grab().toImage()
    focus = view.list.palette().color(QPalette.ColorRole.Highlight)
    assert image.pixelColor(ring).name() == focus.name()


@pytest.mark.gui
def test_each_message_has_a_name_for_screen_readers(view: ChatView) -> None:
    view.show_history(
        [
            message(1, Role.USER, "what time is it", at(14, 5)),
            message(2, Role.ASSISTANT, "It is five past two.", at(14, 5), source=TIMER.stored, timings=VOICE_TIMINGS),
        ]
    )
    view.add_announcement("Your timer is done.", TIMER, at(14, 15))
    interface = QAccessible.queryAccessibleInterface(view.list)
    assert interface is not None
    assert interface.text(QAccessible.Text.Name) == "Conversation"
    names = [interface.child(row).text(QAccessible.Text.Name) for row in range(interface.childCount())]
    assert names == [
        "You, 14:05: what time is it",
        "Assistant, 14:05, from timer skill: It is five past two.",
        "Assistant, 14:15, announcement, from timer skill: Your timer is done.",
    ]
    description = interface.child(1).text(QAccessible.Text.Description)
    assert description.startswith("Today. Time since the key was released: Transcript 412 ms")


@pytest.mark.gui
def test_copy_takes_the_selected_messages_and_copy_all_the_conversation(view: ChatView) -> None:
    view.show_history(chat(4))
    view.list.setCurrentIndex(view.list.chat_model.index(2))
    view.copy_action.trigger()
    assert QGuiApplication.clipboard().text() == "question 2"
    view.copy_all_action.trigger()
    copied = QGuiApplication.clipboard().text()
    assert copied.startswith("You (") and copied.count("Assistant (") == 2 and "question 2" in copied


@pytest.mark.gui
def test_the_context_menu_offers_copying_and_the_timings(view: ChatView) -> None:
    view.show_history(chat(4))
    offered: list[str] = []

    def read_and_close() -> None:
        menu = QApplication.activePopupWidget()
        assert isinstance(menu, QMenu)
        offered.extend(action.text() for action in menu.actions())
        menu.close()

    where = view.list.visualRect(view.list.chat_model.index(1)).center()
    QTimer.singleShot(50, read_and_close)
    view.list.contextMenuEvent(
        QContextMenuEvent(QContextMenuEvent.Reason.Mouse, where, view.list.viewport().mapToGlobal(where))
    )
    assert offered == ["&Copy", "Copy &all", "&Select text", "Show timing &details"]
    assert view.list.currentIndex().row() == 1  # the message under the pointer

    offered.clear()
    where = view.list.visualRect(view.list.chat_model.index(0)).center()  # a question: no timings
    QTimer.singleShot(50, read_and_close)
    view.list.contextMenuEvent(
        QContextMenuEvent(QContextMenuEvent.Reason.Mouse, where, view.list.viewport().mapToGlobal(where))
    )
    assert offered == ["&Copy", "Copy &all", "&Select text"]


@pytest.mark.gui
def test_a_message_opens_as_read_only_selectable_text(view: ChatView, qtbot) -> None:
    view.show_history(chat(4))
    view.list.setCurrentIndex(view.list.chat_model.index(1))
    view.select_text_action.trigger()
    editor = view.list.findChild(QTextEdit, "selectable_text")
    assert editor is not None and editor.isVisible() and editor.isReadOnly()
    assert editor.toPlainText() == view.list.chat_model.entry(1).text
    editor.selectAll()
    editor.copy()
    assert QGuiApplication.clipboard().text() == view.list.chat_model.entry(1).text
    qtbot.keyClick(editor, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: view.list.findChild(QTextEdit, "selectable_text") is None)
    assert view.list.chat_model.entry(1).text.startswith("answer 1")  # nothing written back


@pytest.mark.gui
def test_the_application_font_size_is_followed(view: ChatView, qtbot) -> None:
    view.show_history(chat(4))
    before = view.list.visualRect(view.list.chat_model.index(0)).height()
    bigger = QFont(view.font())
    bigger.setPointSizeF(view.font().pointSizeF() * 1.6)
    view.setFont(bigger)
    qtbot.waitUntil(lambda: view.list.visualRect(view.list.chat_model.index(0)).height() > before * 1.3)


def dark_palette() -> QPalette:
    palette = QPalette()
    for role, colour in (
        (QPalette.ColorRole.Window, "#2b2b2b"),
        (QPalette.ColorRole.WindowText, "#e6e6e6"),
        (QPalette.ColorRole.Base, "#1e1e1e"),
        (QPalette.ColorRole.AlternateBase, "#262626"),
        (QPalette.ColorRole.Text, "#e6e6e6"),
        (QPalette.ColorRole.Button, "#333333"),
        (QPalette.ColorRole.ButtonText, "#e6e6e6"),
        (QPalette.ColorRole.Highlight, "#3d7bd9"),
        (QPalette.ColorRole.HighlightedText, "#ffffff"),
        (QPalette.ColorRole.PlaceholderText, "#8c8c8c"),
    ):
        palette.setColor(role, QColor(colour))
    return palette


def light_palette() -> QPalette:
    palette = QPalette()
    for role, colour in (
        (QPalette.ColorRole.Window, "#efefef"),
        (QPalette.ColorRole.WindowText, "#1a1a1a"),
        (QPalette.ColorRole.Base, "#ffffff"),
        (QPalette.ColorRole.AlternateBase, "#f5f5f5"),
        (QPalette.ColorRole.Text, "#1a1a1a"),
        (QPalette.ColorRole.Button, "#efefef"),
        (QPalette.ColorRole.ButtonText, "#1a1a1a"),
        (QPalette.ColorRole.Highlight, "#308cc6"),
        (QPalette.ColorRole.HighlightedText, "#ffffff"),
    ):
        palette.setColor(role, QColor(colour))
    return palette


@pytest.mark.gui
def test_the_dark_palette_gives_dark_bubbles_with_readable_text(view: ChatView) -> None:
    light, dark = ChatColours.from_palette(light_palette()), ChatColours.from_palette(dark_palette())
    assert not light.dark and dark.dark
    for colours in (light, dark):
        for bubble in (colours.user, colours.assistant, colours.partial, colours.announcement, colours.error):
            assert contrast(bubble.text, bubble.background) >= TEXT_CONTRAST
            assert contrast(bubble.quiet, bubble.background) >= TEXT_CONTRAST
    assert light.assistant.background.name() != dark.assistant.background.name()
    assert light.error.background.name() != dark.error.background.name()

    view.show_history([message(1, Role.ASSISTANT, "Hello there.", at(9, 0), source=CLOCK.stored)])
    entry = view.list.chat_model.entry(0)
    delegate = view.list.chat_delegate

    def bubble_pixel() -> QColor:
        bubble = delegate.bubble_rect(view.list.visualRect(view.list.chat_model.index(0)), entry,
                                      delegate.layout_for(entry))  # fmt: skip
        image = view.list.viewport().grab().toImage()
        return image.pixelColor(QPoint(int(bubble.left() + 4), int(bubble.center().y())))

    view.setPalette(light_palette())
    assert bubble_pixel().lightnessF() > 0.8
    view.setPalette(dark_palette())
    assert bubble_pixel().lightnessF() < 0.25
    assert bubble_pixel().name() == dark.assistant.background.name()


@pytest.mark.gui
def test_a_thousand_messages_load_and_show_the_latest(view: ChatView) -> None:
    messages = chat(1000)
    start = time.perf_counter()
    view.show_history(messages)
    view.list.viewport().repaint()
    took_ms = (time.perf_counter() - start) * 1000
    print(f"\n1,000 messages shown in {took_ms:.0f} ms")
    assert view.list.chat_model.rowCount() == 1000
    last = view.list.visualRect(view.list.chat_model.index(999))
    assert 0 < last.bottom() <= view.list.viewport().height()
    start = time.perf_counter()
    view.begin_answer()
    for _ in range(50):
        view.append_answer("word ", LLAMA)
    print(f"a streamed chunk after them: {(time.perf_counter() - start) * 1000 / 50:.2f} ms")


def screenshot_conversation(view: ChatView) -> None:
    """Yesterday's timer and today's questions, a stopped answer, a failed turn, an answer being written
    and the user's next words still being heard."""
    view.show_history(
        [
            message(1, Role.USER, "set a timer for ten minutes", at(18, 20, days_ago=1)),
            message(2, Role.ASSISTANT, "Timer set for ten minutes.", at(18, 20, days_ago=1), source=TIMER.stored,
                    timings=VOICE_TIMINGS),
            message(3, Role.ASSISTANT, "Your ten minute timer is done.", at(18, 30, days_ago=1),
                    source=TIMER.stored),
            message(4, Role.USER, "tell me about the history of the bicycle", at(14, 2)),
            message(5, Role.ASSISTANT, "The bicycle began as the draisine, a running machine without pedals, in "
                    "1817. Pedals came in the 1860s, then the high-wheeler, and in the 1880s the safety bicycle.",
                    at(14, 2), source=LLAMA.stored,
                    timings={"release_to_final_ms": 380.0, "release_to_first_reply_ms": 950.0,
                             "interrupted_at_ms": 4200.0, "spoken_chars": 78.0}),
        ]
    )  # fmt: skip
    view.list.chat_model.entry(1).expanded = True
    view.list.chat_model.changed(view.list.chat_model.entry(1))
    view.add_error("No microphone found. Plug one in or pick one in Settings > Audio.", at(14, 3))
    view.finish_user("what time is it", at(14, 5))
    view.begin_answer(at(14, 5))
    view.append_answer("It is five past two.", CLOCK)
    view.finish_answer(VOICE_TIMINGS)
    view.finish_user("what's the weather like tomorrow in Paris", at(14, 6))
    view.begin_answer(at(14, 6))
    view.append_answer("I can't look up the weather ", LLAMA)
    view.append_answer("while offline, but ", LLAMA)
    view.begin_user_partial("remind me to")


@pytest.mark.gui
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshots(view: ChatView, scheme: str) -> None:
    view.setPalette(light_palette() if scheme == "light" else dark_palette())
    view.resize(560, 780)
    screenshot_conversation(view)
    view.list.setFocus()
    view.list.setCurrentIndex(view.list.chat_model.index(4))
    SCREENS.mkdir(parents=True, exist_ok=True)
    path = SCREENS / f"chat-{scheme}.png"
    assert view.grab().save(str(path))
    assert path.stat().st_size > 0
