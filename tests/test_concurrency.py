"""Many threads adding and reading at once: nothing lost, nothing doubled, order kept, never "locked"."""

from __future__ import annotations

import threading
from pathlib import Path

from desktop_app.core.history_cache import CacheLimits
from desktop_app.storage.engine import sqlite_url
from desktop_app.storage.store import SqlConversationStore

THREADS = 8
PER_THREAD = 500


def test_eight_threads_five_hundred_messages_each(tmp_path: Path) -> None:
    store = SqlConversationStore.open(
        sqlite_url(tmp_path / "assistant.db"), CacheLimits(max_conversations=4, max_messages_per_conversation=50)
    )
    shared = store.create_conversation("shared")
    own = [store.create_conversation(f"thread {t}") for t in range(THREADS)]
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def work(t: int) -> None:
        try:
            start.wait()
            for i in range(PER_THREAD):
                # Half the writes go to the thread's own conversation, half to one they all share.
                target = own[t] if i % 2 == 0 else shared
                store.add_message(target.id, "user", f"t{t} m{i}")
                if i % 25 == 0:
                    store.get_history(own[(t + 1) % THREADS].id, limit=20)  # reads beside the writes
                    store.search(f"t{t}")
        except BaseException as error:  # collected and reported below
            errors.append(error)

    workers = [threading.Thread(target=work, args=(t,)) for t in range(THREADS)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []

    everything: list[str] = []
    for t, conversation in enumerate(own):
        contents = [m.content for m in store.get_history(conversation.id)]
        assert contents == [f"t{t} m{i}" for i in range(0, PER_THREAD, 2)]
        everything += contents
    shared_contents = [m.content for m in store.get_history(shared.id)]
    for t in range(THREADS):
        # Each thread's messages in the shared conversation keep the order it sent them in.
        assert [c for c in shared_contents if c.startswith(f"t{t} ")] == [f"t{t} m{i}" for i in range(1, PER_THREAD, 2)]
    everything += shared_contents
    assert len(everything) == len(set(everything)) == THREADS * PER_THREAD
    stats = store.stats()
    assert stats.messages_in_db == THREADS * PER_THREAD
    assert store.get_conversation(shared.id).message_count == len(shared_contents)
    store.close()

    # And the same after reopening, straight from the database.
    reopened = SqlConversationStore.open(sqlite_url(tmp_path / "assistant.db"))
    try:
        assert [m.content for m in reopened.get_history(shared.id)] == shared_contents
    finally:
        reopened.close()


def test_two_stores_on_one_file_do_not_lock_each_other_out(tmp_path: Path) -> None:
    """The app and a CLI command may write to the same file at once (two processes, two writers)."""
    url = sqlite_url(tmp_path / "assistant.db")
    first, second = SqlConversationStore.open(url), SqlConversationStore.open(url)
    second.get_history(first.create_conversation().id)  # give the second store a warm cache too
    conversation = first.create_conversation()
    errors: list[BaseException] = []

    def write(store: SqlConversationStore, tag: str) -> None:
        try:
            for i in range(300):
                store.add_message(conversation.id, "user", f"{tag} {i}")
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=write, args=(s, tag)) for s, tag in ((first, "a"), (second, "b"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(second.get_history(conversation.id)) == 600
    first.close()
    second.close()


def test_a_write_from_another_process_is_seen_through_the_cache(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "assistant.db")
    app, cli = SqlConversationStore.open(url), SqlConversationStore.open(url)
    try:
        conversation = app.create_conversation()
        app.add_message(conversation.id, "user", "from the app")
        assert [m.content for m in app.get_history(conversation.id)] == ["from the app"]  # now cached
        cli.add_message(conversation.id, "assistant", "from the command line")
        assert [m.content for m in app.get_history(conversation.id)] == ["from the app", "from the command line"]
    finally:
        app.close()
        cli.close()


def test_reads_do_not_wait_for_a_write_in_progress(tmp_path: Path) -> None:
    import time

    store = SqlConversationStore.open(sqlite_url(tmp_path / "assistant.db"))
    conversation = store.create_conversation()
    store.add_message(conversation.id, "user", "hello")
    started = threading.Event()

    def slow_write(connection) -> None:
        started.set()
        time.sleep(1.5)  # a long import or a big deletion

    writer = threading.Thread(target=store._writer.run, args=(slow_write,))
    writer.start()
    started.wait()
    begun = time.monotonic()
    assert [m.content for m in store.get_history(conversation.id)] == ["hello"]
    assert store.search("hello")
    waited = time.monotonic() - begun
    writer.join()
    store.close()
    assert waited < 0.75, f"a read waited {waited:.2f} s for the writer"
