"""The shipped division lists (CSV); see SOURCE.md."""
