"""insight domain."""
