"""Provincial nodes and edge stations: cross-node cases over NATS JetStream (issue #18)."""
