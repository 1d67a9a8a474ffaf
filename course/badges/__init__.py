"""Open Badges 3.0 credentials for a completion: issued, signed (eddsa-rdfc-2022), revoked through a status list."""
