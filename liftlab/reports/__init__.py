"""HTML reports, one module per job; ``format`` holds the shared value formatters and ``parts``
the building blocks (template loader, run details, validation view)."""
