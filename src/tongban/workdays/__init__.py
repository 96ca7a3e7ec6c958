"""Working days: the official calendar (with 调休) that every statutory clock counts in."""
