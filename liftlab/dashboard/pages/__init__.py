"""One module per dashboard page; each has ``PATH``, ``TITLE`` and ``layout(data)``."""
