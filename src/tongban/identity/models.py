"""Tables of the identity domain."""
