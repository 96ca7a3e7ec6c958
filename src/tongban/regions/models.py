"""Tables of the regions domain."""
