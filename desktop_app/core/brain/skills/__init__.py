"""The built-in skills, in the order they are listed to people."""
