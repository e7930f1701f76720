"""Business answers. Each module answers one concern; `registry()` lists them all explicitly."""
