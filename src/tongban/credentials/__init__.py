"""E-licences (电子证照): SD-JWT VCs issued, held, verified and given a status (issue #17)."""
