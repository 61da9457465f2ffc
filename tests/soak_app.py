"""Runs the real app with two test-side changes, for the soak test: the microphone delivers smaller blocks
(so level events come several times faster than the usual 50 a second), and a thread writes, twice a
second, how many level events the voice turn has received and the reference counts of True, False and None.

    python tests/soak_app.py STATUS_FILE BLOCK_MS -- APP_ARGUMENTS...
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path


def main() -> int:
    status_file, block_ms = Path(sys.argv[1]), int(sys.argv[2])
    app_arguments = sys.argv[sys.argv.index("--") + 1 :]

    import desktop_app.audio.capture as capture
    from desktop_app.core.pipeline import VoicePipeline

    capture.BLOCK_SECONDS = block_ms / 1000
    levels = 0
    deliver_level = VoicePipeline.on_level

    def counting_level(self: VoicePipeline, rms_dbfs: float, peak_dbfs: float) -> None:
        nonlocal levels
        levels += 1
        deliver_level(self, rms_dbfs, peak_dbfs)

    VoicePipeline.on_level = counting_level  # type: ignore[method-assign]

    def report() -> None:
        while True:
            status = {
                "levels": levels,
                "True": sys.getrefcount(True),
                "False": sys.getrefcount(False),
                "None": sys.getrefcount(None),
                "at": time.monotonic(),
            }
            partial = status_file.with_suffix(".part")
            partial.write_text(json.dumps(status))
            partial.replace(status_file)
            time.sleep(0.5)

    threading.Thread(target=report, name="soak-report", daemon=True).start()
    from desktop_app.__main__ import main as app_main

    return app_main(app_arguments)


if __name__ == "__main__":
    sys.exit(main())
