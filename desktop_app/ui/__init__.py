"""The PySide6 desktop interface. Only this package imports Qt."""

import builtins

# The interpreter's own import function, kept before Qt is imported: desktop_app.ui.qt puts it back.
INTERPRETER_IMPORT = builtins.__import__
