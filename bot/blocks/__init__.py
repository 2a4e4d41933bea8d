"""Pure Block Kit builders: domain objects in, blocks out, no I/O. One module per feature."""
