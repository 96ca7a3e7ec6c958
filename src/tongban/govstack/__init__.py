"""The GovStack Registration building block served on top of catalog and cases (issue #21)."""
