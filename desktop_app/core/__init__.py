"""Pure-Python core: no Qt, no database driver, no audio library."""
