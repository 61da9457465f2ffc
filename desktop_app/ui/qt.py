"""Every Qt name the UI uses comes through here, so a future port touches one file."""

from PySide6 import __version__ as BINDING_VERSION
from PySide6.QtCore import QEvent, QObject, QSocketNotifier, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QIcon, QKeyEvent, QKeySequence, QTextCursor
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStatusBar,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

__all__ = [
    "BINDING_VERSION",
    "QAction",
    "QApplication",
    "QCloseEvent",
    "QEvent",
    "QHBoxLayout",
    "QIcon",
    "QKeyEvent",
    "QKeySequence",
    "QLabel",
    "QListWidget",
    "QListWidgetItem",
    "QMainWindow",
    "QMessageBox",
    "QObject",
    "QProgressBar",
    "QPushButton",
    "QSocketNotifier",
    "QSplitter",
    "QStatusBar",
    "QTextCursor",
    "QTextEdit",
    "QTimer",
    "QVBoxLayout",
    "QWidget",
    "Qt",
    "Signal",
]
